package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentitySpellingsOfOneSource(t *testing.T) {
	const fleet = "//github.com/example/fleet@refs/heads/main"
	for _, tc := range []struct{ url, ref, want string }{
		{"https://github.com/example/fleet.git", "main", fleet},
		{"https://github.com/example/fleet", "refs/heads/main", fleet},
		{"https://GitHub.COM/example/fleet.git/", "main", fleet},
		{"http://github.com/example/fleet", "main", fleet},
		{"https://github.com:443/example/fleet", "main", fleet},
		{"https://x-access-token@github.com/example/fleet", "main", fleet},
		{"ssh://git@github.com/example/fleet.git", "main", fleet},
		{"ssh://git@github.com:22/example/fleet.git", "main", fleet},
		{"git@github.com:example/fleet.git", "main", fleet},
		{"github.com:example/fleet", "refs/heads/main", fleet},
		{"https://github.com/example/fleet", "refs/tags/v1.2", "//github.com/example/fleet@refs/tags/v1.2"},
		{"https://github.com/example/fleet", "0123456789ABCDEF0123456789abcdef01234567", "//github.com/example/fleet@0123456789abcdef0123456789abcdef01234567"},
		// A port other than the protocol's default is another server.
		{"https://git.example.com:8443/fleet.git", "main", "//git.example.com:8443/fleet@refs/heads/main"},
		{"ssh://git@git.example.com:2222/fleet.git", "main", "//git.example.com:2222/fleet@refs/heads/main"},
		{"http://127.0.0.1:8080/fleet.git", "main", "//127.0.0.1:8080/fleet@refs/heads/main"},
		// The path keeps its case.
		{"https://github.com/Example/Fleet", "main", "//github.com/Example/Fleet@refs/heads/main"},
		{"/srv/git/fleet.git/", "main", "file:///srv/git/fleet.git@refs/heads/main"},
		{"file:///srv/git/fleet.git", "refs/heads/main", "file:///srv/git/fleet.git@refs/heads/main"},
		{"/srv/git/../git/fleet.git", "main", "file:///srv/git/fleet.git@refs/heads/main"},
	} {
		got, err := Identity(tc.url, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("Identity(%q, %q) = %q, %v; want %q", tc.url, tc.ref, got, err, tc.want)
			continue
		}
		if again := NormalizeIdentity(got); again != got {
			t.Errorf("NormalizeIdentity(%q) = %q, want it unchanged", got, again)
		}
		if recorded := tc.url + "@" + tc.ref; NormalizeIdentity(recorded) != tc.want || !SameIdentity(recorded, got) {
			t.Errorf("the raw recorded %q normalises to %q, want %q", recorded, NormalizeIdentity(recorded), tc.want)
		}
	}
}

func TestIdentityTellsSourcesApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"https://github.com/example/fleet@main", "https://github.com/example/other@main"},
		{"https://github.com/example/fleet@main", "https://gitlab.com/example/fleet@main"},
		{"https://github.com/example/fleet@main", "https://github.com/example/fleet@release"},
		{"https://github.com/example/fleet@main", "https://github.com/example/fleet@refs/tags/main"},
		{"https://github.com/example/fleet@main", "https://github.com/Example/fleet@main"},
		{"https://git.example.com/fleet@main", "https://git.example.com:8443/fleet@main"},
		{"https://github.com/example/fleet@main", ""},
		{"/srv/a@main", "/srv/b@main"},
		{"not a source", "also not one"},
	} {
		if SameIdentity(pair[0], pair[1]) {
			t.Errorf("SameIdentity(%q, %q) = true, want false", pair[0], pair[1])
		}
	}
	if !SameIdentity("", "") || !SameIdentity("not a source", "not a source") {
		t.Error("a string is not the same identity as itself")
	}
}

func TestIdentityRefusesWhatIsNoSource(t *testing.T) {
	for _, tc := range []struct{ url, ref, want string }{
		{"", "main", "empty"},
		{"https://github.com/", "main", "has no path"},
		{"ftp://example.com/fleet", "main", "not supported"},
		{"https://github.com/example/fleet", "refs/pull/1/head", "only refs/heads/ and refs/tags/"},
		{"https://github.com/example/fleet", "", "ref is empty"},
	} {
		if _, err := Identity(tc.url, tc.ref); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Identity(%q, %q) = %v, want an error saying %q", tc.url, tc.ref, err, tc.want)
		}
	}
	// Credentials never reach an identity, which is recorded in the cluster.
	id, err := Identity("https://user:s3cret@github.com/example/fleet", "main")
	if err != nil || strings.Contains(id, "s3cret") || strings.Contains(id, "user") {
		t.Errorf("Identity with credentials = %q, %v", id, err)
	}
}

// TestIdentityOfARelativePath makes a local path absolute, so that the
// daemon's working directory does not change who owns what.
func TestIdentityOfARelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("fleet", 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("fleet")
	want := "file://" + filepath.ToSlash(abs) + "@refs/heads/main"
	for _, url := range []string{"fleet", "./fleet", "fleet/", abs} {
		if got, err := Identity(url, "main"); err != nil || got != want {
			t.Errorf("Identity(%q) = %q, %v; want %q", url, got, err, want)
		}
	}
}
