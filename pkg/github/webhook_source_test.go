package github

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/source"
)

// TestPushWebhookToSnapshot is the whole push path with the real parts: a
// Poller of a real repository that would not poll for an hour picks up a
// new commit as soon as the signed webhook arrives over HTTP.
func TestPushWebhookToSnapshot(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "fleet")
	git(t, "", "init", "--quiet", "-b", "main", repo)
	commit := func(msg string) string {
		git(t, repo, "commit", "--quiet", "--allow-empty", "-m", msg)
		return git(t, repo, "rev-parse", "HEAD")
	}
	first := commit("initial")

	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir, opts.Interval, opts.MaxBackoff = repo, t.TempDir(), time.Hour, time.Hour
	p, err := source.NewPoller(opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitCommit(t, p, first, 10*time.Second)

	hook := httptest.NewServer(newRouter(t, DefaultRouterOptions(), RouterDeps{Sources: []Source{p}}))
	defer hook.Close()
	want := commit("deploy v2")
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "after": want,
		"repository": map[string]any{"full_name": "local/fleet", "clone_url": repo},
	})
	start := time.Now()
	req, _ := http.NewRequest("POST", hook.URL+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(body, testSecret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %s", res.Status)
	}
	waitCommit(t, p, want, time.Second)
	t.Logf("webhook to new snapshot: %s", time.Since(start).Round(time.Millisecond))
}

// waitCommit waits on the poller's notifications until its latest snapshot
// is at commit want.
func waitCommit(t *testing.T, p *source.Poller, want string, within time.Duration) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		if s, ok := p.Latest(); ok && s.Commit == want {
			return
		}
		select {
		case <-p.Updates():
		case <-deadline.C:
			t.Fatalf("no snapshot of %s within %s (status %+v)", want, within, p.Status())
		}
	}
}

// git runs the git CLI with no user or system configuration.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("this test needs the git CLI on PATH (apt-get install git): %v", err)
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
