package deploy

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// gitToken is the password the Git server wants; the overlay hands it to
// gitopsd through the Secret, as README does.
const gitToken = "token-for-the-deploy-test"

// gitServer serves one fleet repository over smart HTTP with the real git
// http-backend behind basic auth, as a Git host would: the image has no git
// binary, so gitopsd must do without one.
type gitServer struct {
	*httptest.Server
	down atomic.Bool // answer 503, as an unreachable host would fail
	work string      // the working copy commits are made in
}

// commit writes files (path to content; empty content removes the file)
// in the working copy, commits them on main, pushes to the served
// repository and returns the commit.
func (s *gitServer) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(s.work, name)
		if content == "" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, s.work, "add", "-A")
	git(t, s.work, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", msg)
	git(t, s.work, "push", "-q", "origin", "main")
	return git(t, s.work, "rev-parse", "HEAD")
}

// serveFleet commits testdata/NAME to a new repository, serves it, and
// returns the server, the repository's URL and the commit.
func serveFleet(t *testing.T, name string) (srv *gitServer, url, head string) {
	t.Helper()
	return serveFleetWith(t, name, nil)
}

// serveFleetWith is serveFleet with prepare, when set, completing the
// working copy before the first commit, knowing the repository's URL.
func serveFleetWith(t *testing.T, name string, prepare func(work, url string)) (srv *gitServer, url, head string) {
	t.Helper()
	root, work := t.TempDir(), filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(work, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path:   filepath.Join(git(t, root, "--exec-path"), "git-http-backend"),
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
		Stderr: io.Discard,
	}
	srv = &gitServer{work: work}
	srv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if srv.down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		if _, password, ok := r.BasicAuth(); !ok || password != gitToken {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url = srv.URL + "/" + name + ".git"
	if prepare != nil {
		prepare(work, url)
	}
	git(t, work, "init", "-q", "-b", "main")
	git(t, work, "add", ".")
	git(t, work, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", name)
	git(t, root, "clone", "-q", "--bare", work, name+".git")
	git(t, work, "remote", "add", "origin", filepath.Join(root, name+".git"))
	return srv, url, git(t, work, "rev-parse", "HEAD")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
