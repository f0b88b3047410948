package source

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/example/fleet.git":           "https://github.com/example/fleet.git",
		"https://user:s3cret@github.com/example/fleet":   "https://github.com/example/fleet",
		"https://ghp_token@github.com/example/fleet.git": "https://github.com/example/fleet.git",
		"http://u:p@127.0.0.1:8080/fleet.git":            "http://127.0.0.1:8080/fleet.git",
		"ssh://git@github.com/example/fleet.git":         "ssh://git@github.com/example/fleet.git",
		"ssh://git:pw@github.com:2222/example/fleet.git": "ssh://git@github.com:2222/example/fleet.git",
		"git@github.com:example/fleet.git":               "git@github.com:example/fleet.git",
		"/srv/git/fleet.git":                             "/srv/git/fleet.git",
		"https://user:s3cret@host:bad-port/x":            "https://host:bad-port/x",
		"file:///srv/git/fleet.git":                      "file:///srv/git/fleet.git",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(RedactURL(in), "s3cret") || strings.Contains(RedactURL(in), "ghp_token") {
			t.Errorf("RedactURL(%q) leaks a secret", in)
		}
	}
}

func TestParseRepoURL(t *testing.T) {
	for _, ok := range []string{
		"https://github.com/example/fleet.git",
		"http://127.0.0.1:8080/fleet.git",
		"ssh://git@github.com/example/fleet.git",
		"git@github.com:example/fleet.git",
		"file:///srv/git/fleet.git",
		"/srv/git/fleet.git",
		"./fleet.git",
	} {
		if _, err := parseRepoURL(ok); err != nil {
			t.Errorf("parseRepoURL(%q): %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                                   "empty",
		"https://user:s3cret@github.com/x/y": "credentials in the URL are not allowed",
		"https://token@github.com/x/y":       "credentials in the URL are not allowed",
		"ssh://git:pw@github.com/x/y":        "passwords in ssh URLs are not allowed",
		"git://github.com/x/y":               `protocol "git" is not supported`,
		"ftp://example.com/x":                `protocol "ftp" is not supported`,
		"https:///x":                         "has no host",
	} {
		_, err := parseRepoURL(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseRepoURL(%q) = %v, want %q", bad, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseRepoURL(%q) error leaks the password: %v", bad, err)
		}
	}
}

func TestRepoKey(t *testing.T) {
	same := []string{
		"https://github.com/Example/Fleet.git",
		"https://github.com/example/fleet",
		"https://GitHub.com/example/fleet/",
		"http://user@github.com:443/example/fleet.git",
		"git@github.com:example/fleet.git",
		"ssh://git@github.com:22/example/fleet.git",
		"git://github.com/example/fleet.git",
	}
	want, ok := repoKey(same[0])
	if !ok || want != "github.com/example/fleet" {
		t.Fatalf("repoKey(%q) = %q, %v", same[0], want, ok)
	}
	for _, u := range same[1:] {
		if got, _ := repoKey(u); got != want {
			t.Errorf("repoKey(%q) = %q, want %q", u, got, want)
		}
	}
	for _, other := range []string{"https://github.com/example/fleet2", "https://gitlab.com/example/fleet", "https://github.com/other/fleet"} {
		if got, _ := repoKey(other); got == want {
			t.Errorf("repoKey(%q) matches %q", other, want)
		}
	}
	if _, ok := repoKey("https://github.com/"); ok {
		t.Error("a URL without a path has a key")
	}
}

func TestCacheName(t *testing.T) {
	name := func(raw string) string {
		ep, err := transport.NewEndpoint(raw)
		if err != nil {
			t.Fatal(err)
		}
		return cacheName(ep, raw)
	}
	a := name("https://github.com/example/fleet.git")
	if !strings.HasPrefix(a, "fleet-") || !strings.HasSuffix(a, ".git") || strings.ContainsAny(a, "/:") {
		t.Fatalf("cache name %q", a)
	}
	if a != name("https://GitHub.com/example/fleet.git") {
		t.Error("host case changes the cache name")
	}
	if a == name("https://github.com/other/fleet.git") || a == name("http://github.com/example/fleet.git") {
		t.Error("different repositories share a cache name")
	}
	if n := name("https://example.com/a b/ü..git"); strings.ContainsAny(n, " /ü") {
		t.Errorf("unsafe cache name %q", n)
	}
}

func TestParseRef(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef01234567"
	for in, want := range map[string]Ref{
		"main":                   {Kind: Branch, Name: "main"},
		"feature/x":              {Kind: Branch, Name: "feature/x"},
		"refs/heads/release-1.2": {Kind: Branch, Name: "release-1.2"},
		"refs/tags/v1.2.3":       {Kind: Tag, Name: "v1.2.3"},
		sha:                      {Kind: Commit, Name: sha},
		strings.ToUpper(sha):     {Kind: Commit, Name: sha},
	} {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "refs/remotes/origin/main", "refs/heads/", "a..b", "a b", "x.lock", "-x", "a~1", "HEAD^", "a:b", "/x", "x/", "a\x01"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) succeeded", bad)
		}
	}
	r, _ := ParseRef("refs/tags/v1")
	if r.FullName() != "refs/tags/v1" || r.String() != `tag "v1"` {
		t.Errorf("tag ref = %s %s", r.FullName(), r)
	}
}
