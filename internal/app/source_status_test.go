package app

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stallingGitServer serves the repositories under root over smart HTTP with
// git http-backend; while stalled it answers nothing until the client gives
// up, as a hung Git server does.
type stallingGitServer struct {
	*httptest.Server
	stalled atomic.Bool
}

func newStallingGitServer(t *testing.T, root string) *stallingGitServer {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v (install git)", err)
	}
	backend := &cgi.Handler{
		Path:   filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
		Stderr: io.Discard,
	}
	s := &stallingGitServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.stalled.Load() {
			<-r.Context().Done()
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestStatusShowsAHungRepository runs the daemon against a Git server that
// stops answering: the status API and `gitopsd status` show a look at the
// repository under way, and since when, long before the Git timeout ends
// it; once it has, they show since when the repository has been failing.
func TestStatusShowsAHungRepository(t *testing.T) {
	repo := newGitRepo(t, t.TempDir())
	repo.write("gitopsd.yaml", "installations:\n  - name: hung-web\n    path: web\n")
	repo.write("web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hung-web, namespace: default}\ndata: {a: b}\n")
	head := repo.commit("a fleet of one")
	root := t.TempDir()
	repo.git("clone", "-q", "--bare", repo.dir, filepath.Join(root, "fleet.git"))
	srv := newStallingGitServer(t, root)

	const gitTimeout = 8 * time.Second
	d := startDaemon(t, "--repo", srv.URL+"/fleet.git", "--interval", "1s", "--git-timeout", gitTimeout.String())
	d.waitFor(60*time.Second, "the initial sync", allAt(head))

	srv.stalled.Store(true)
	stalled := time.Now()
	// A look answered at once takes milliseconds: one under way for a
	// second is the hung one.
	hung := d.waitFor(gitTimeout-2*time.Second, "a look at the repository under way for a second", func(s *statusResponse) bool {
		return s.Source != nil && s.Source.PollingSince != nil && time.Since(*s.Source.PollingSince) > time.Second
	}).Source
	if hung.LastError != "" || hung.FailingSince != nil {
		t.Errorf("the hung look already failed: %+v", hung)
	}
	t.Logf("a hung repository shows in status %s after it stopped answering (Git timeout %s)", time.Since(stalled).Round(time.Millisecond), gitTimeout)
	out, _, code := gitopsd(t, "status", "--server", "http://"+d.addr)
	if code != 0 || !strings.Contains(out, "looking at the repository for ") {
		t.Errorf("gitopsd status does not show the look under way: exit %d\n%s", code, out)
	}

	s := d.waitFor(2*gitTimeout, "the hung look to fail", func(s *statusResponse) bool {
		return s.Source != nil && s.Source.FailingSince != nil
	})
	if !strings.Contains(s.Source.LastError, "timed out after "+gitTimeout.String()) || !s.Source.FailingSince.Equal(*hung.PollingSince) {
		t.Errorf("source status after the timeout: %+v, want failing since the hung look began at %s", s.Source, hung.PollingSince)
	}
	out, _, _ = gitopsd(t, "status", "--server", "http://"+d.addr)
	if !strings.Contains(out, "; failing for ") || !strings.Contains(out, "timed out after") {
		t.Errorf("gitopsd status does not show the failure and since when:\n%s", out)
	}

	srv.stalled.Store(false)
	d.waitFor(4*gitTimeout, "recovery", func(s *statusResponse) bool {
		return s.Source != nil && s.Source.LastError == "" && s.Source.FailingSince == nil
	})
}
