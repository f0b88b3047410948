package github

import "testing"

func TestRepositoryOf(t *testing.T) {
	for _, tc := range []struct {
		repo, api, want string
	}{
		{"https://github.com/Example/Fleet.git", DefaultAPIURL, "Example/Fleet"},
		{"https://github.com/example/fleet/", DefaultAPIURL, "example/fleet"},
		{"git@github.com:example/fleet.git", DefaultAPIURL, "example/fleet"},
		{"ssh://git@GitHub.com:22/example/fleet", DefaultAPIURL, "example/fleet"},
		{"https://git.corp.example/platform/fleet.git", "https://git.corp.example/api/v3/", "platform/fleet"},
		{"https://gitlab.com/example/fleet.git", DefaultAPIURL, ""},
		{"https://github.com/example/fleet.git", "https://git.corp.example/api/v3/", ""},
		{"https://github.com/example", DefaultAPIURL, ""},
		{"https://github.com/example/fleet/tree/main", DefaultAPIURL, ""},
		{"/srv/git/fleet", DefaultAPIURL, ""},
	} {
		got, err := RepositoryOf(tc.repo, tc.api)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("RepositoryOf(%q, %q) = %q, %v; want %q", tc.repo, tc.api, got, err, tc.want)
		}
	}
}
