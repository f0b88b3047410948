package source

import (
	"strings"
	"testing"
	"time"
)

// TestFollows: which pushes wake a Poller. GitHub's push payload names the
// repository by its clone, HTML, SSH and git URLs.
func TestFollows(t *testing.T) {
	payloadURLs := []string{
		"https://github.com/Example/Fleet.git",
		"https://github.com/Example/Fleet",
		"git@github.com:Example/Fleet.git",
		"git://github.com/Example/Fleet.git",
	}
	for _, tc := range []struct {
		name, url, ref, pushed string
		urls                   []string
		want                   bool
	}{
		{"https URL and branch name", "https://github.com/example/fleet.git", "main", "refs/heads/main", payloadURLs, true},
		{"scp-like ssh URL and full ref name", "git@github.com:example/fleet", "refs/heads/main", "refs/heads/main", payloadURLs, true},
		{"ssh:// URL with port", "ssh://git@GitHub.com:22/Example/Fleet.git/", "main", "refs/heads/main", payloadURLs, true},
		{"only the SSH URL in the payload", "https://github.com/example/fleet", "main", "refs/heads/main", []string{"git@github.com:Example/Fleet.git"}, true},
		{"a tag followed and pushed", "https://github.com/example/fleet", "refs/tags/v1", "refs/tags/v1", payloadURLs, true},
		{"other branch", "https://github.com/example/fleet.git", "release", "refs/heads/main", payloadURLs, false},
		{"tag named like the branch", "https://github.com/example/fleet.git", "main", "refs/tags/main", payloadURLs, false},
		{"short ref in the payload", "https://github.com/example/fleet.git", "main", "main", payloadURLs, false},
		{"pinned commit", "https://github.com/example/fleet.git", strings.Repeat("1", 40), "refs/heads/main", payloadURLs, false},
		{"other repository", "https://github.com/example/other.git", "main", "refs/heads/main", payloadURLs, false},
		{"other host", "https://gitlab.com/example/fleet.git", "main", "refs/heads/main", payloadURLs, false},
		{"no URLs", "https://github.com/example/fleet.git", "main", "refs/heads/main", nil, false},
		{"unparsable URLs", "https://github.com/example/fleet.git", "main", "refs/heads/main", []string{"::::", ""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.URL, opts.Ref, opts.CacheDir = tc.url, tc.ref, t.TempDir()
			if strings.HasPrefix(tc.url, "ssh://") || strings.HasPrefix(tc.url, "git@") {
				// Checked, never read: Follows does no I/O.
				opts.Auth.SSHKeyFile, opts.Auth.InsecureIgnoreHostKey = "id_ed25519", true
			}
			p, err := NewPoller(opts, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Follows(tc.pushed, tc.urls...); got != tc.want {
				t.Fatalf("Follows(%q, %q) = %v, want %v", tc.pushed, tc.urls, got, tc.want)
			}
		})
	}
}

// waitUpdate waits on the poller's notifications until Latest is at commit
// want, failing after within.
func waitUpdate(t *testing.T, p *Poller, want string, within time.Duration) Snapshot {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		if s, ok := p.Latest(); ok && s.Commit == want {
			return s
		}
		select {
		case <-p.Updates():
		case <-deadline.C:
			s, _ := p.Latest()
			t.Fatalf("no snapshot of %s within %s (latest %s, status %+v)", want, within, s.Commit, p.Status())
		}
	}
}

// eventually checks cond every few milliseconds until it holds, failing
// after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		<-tick.C
	}
}
