package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/app"
	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/internal/web"
)

var env *testenv.Env

// TestMain starts an API-size plane: the tests' objects (ConfigMaps,
// Secrets, Services, Namespaces) are healthy as soon as they are stored.
func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

// daemon is `gitopsd run` in this process, following a repository.
type daemon struct {
	t    *testing.T
	url  string
	logs *daemontest.Buffer
	done chan error
}

// startDaemon runs the daemon against the test plane, polling repo every
// second, with more flags, and stops it when the test ends.
func startDaemon(t *testing.T, repo string, flags ...string) *daemon {
	t.Helper()
	addr := daemontest.FreeAddr(t)
	args := []string{"run", "--repo", repo, "--interval", "1s", "--http-addr", addr, "--kubeconfig", env.Kubeconfig,
		"--cache-dir", t.TempDir(), "--leader-elect=false", "--log-level", "debug", "--external-url", "http://" + addr}
	args = append(args, flags...)
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, url: "http://" + addr, logs: &daemontest.Buffer{}, done: make(chan error, 1)}
	go func() { d.done <- app.Main(ctx, args, d.logs, d.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-d.done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("the daemon did not stop within a minute")
		}
		if t.Failed() {
			t.Logf("daemon logs:\n%s", d.logs.String())
		}
	})
	return d
}

// get fetches path from the daemon; code 0 while it does not answer.
func (d *daemon) get(path string) (int, string) {
	res, err := http.Get(d.url + path)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, ""
	}
	return res.StatusCode, string(body)
}

// status reads the JSON status; false while the daemon does not answer.
func (d *daemon) status() (web.Status, bool) {
	var s web.Status
	code, body := d.get("/api/v1/installations")
	return s, code == http.StatusOK && json.Unmarshal([]byte(body), &s) == nil
}

// waitStatus polls the JSON status until check passes, failing the test
// with the last status after timeout.
func (d *daemon) waitStatus(timeout time.Duration, what string, check func(web.Status) bool) web.Status {
	d.t.Helper()
	var last web.Status
	err := daemontest.Poll(timeout, func() bool {
		s, ok := d.status()
		last = s
		return ok && check(s)
	})
	if err != nil {
		js, _ := json.MarshalIndent(last, "", "  ")
		d.t.Fatalf("waiting for %s: %v; last status:\n%s", what, err, js)
	}
	return last
}

// waitPage polls the page at path until it contains every one of wants,
// and returns it; the test fails with the page after timeout.
func (d *daemon) waitPage(timeout time.Duration, path string, wants ...string) string {
	d.t.Helper()
	var body string
	err := daemontest.Poll(timeout, func() bool {
		var code int
		code, body = d.get(path)
		if code == 0 {
			return false
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				return false
			}
		}
		return true
	})
	if err != nil {
		var missing []string
		for _, want := range wants {
			if !strings.Contains(body, want) {
				missing = append(missing, want)
			}
		}
		d.t.Fatalf("GET %s lacks %q after %s:\n%s", path, missing, timeout, body)
	}
	return body
}

// gitRepo is a bare repository served over smart HTTP by git http-backend,
// and a working clone that commits and pushes to it.
type gitRepo struct {
	t    *testing.T
	url  string
	work string
}

// newGitRepo serves an empty repository at /example/fleet.git and commits
// files to it.
func newGitRepo(t *testing.T, files map[string]string) *gitRepo {
	t.Helper()
	root := t.TempDir()
	r := &gitRepo{t: t, work: filepath.Join(t.TempDir(), "fleet")}
	git(t, root, "init", "--quiet", "--bare", "-b", "main", filepath.Join(root, "example", "fleet.git"))
	git(t, root, "init", "--quiet", "-b", "main", r.work)
	git(t, r.work, "remote", "add", "origin", filepath.Join(root, "example", "fleet.git"))
	backend := &cgi.Handler{Path: gitPath(t), Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: backend, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + l.Addr().String() + "/example/fleet.git"
	r.commit("initial fleet", files)
	return r
}

// commit writes files (empty content removes one), commits, pushes and
// returns the new commit.
func (r *gitRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, data := range files {
		path := filepath.Join(r.work, name)
		if data == "" {
			if err := os.Remove(path); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	git(r.t, r.work, "add", "-A")
	git(r.t, r.work, "commit", "--quiet", "--allow-empty", "-m", msg)
	git(r.t, r.work, "push", "--quiet", "origin", "HEAD")
	return git(r.t, r.work, "rev-parse", "HEAD")
}

// pullRequest commits files on branch, made afresh from main, and points refs/pull/NUMBER/head at it, as GitHub does; the clone goes back
// to main. It returns the commit.
func (r *gitRepo) pullRequest(number int, branch string, files map[string]string) string {
	r.t.Helper()
	git(r.t, r.work, "checkout", "--quiet", "-B", branch)
	defer git(r.t, r.work, "checkout", "--quiet", "main")
	for name, data := range files {
		path := filepath.Join(r.work, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	git(r.t, r.work, "add", "-A")
	git(r.t, r.work, "commit", "--quiet", "-m", branch)
	git(r.t, r.work, "push", "--quiet", "--force", "origin", fmt.Sprintf("HEAD:refs/pull/%d/head", number))
	return git(r.t, r.work, "rev-parse", "HEAD")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git not found: install it (apt-get install -y git): %v", err)
	}
	return path
}
