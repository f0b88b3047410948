package deploy

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gitopsd/gitopsd/internal/gittest"
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
	repo *gittest.Repo
}

// commit writes files (path to content; empty content removes the file)
// in the working copy, commits them on main, pushes to the served
// repository and returns the commit.
func (s *gitServer) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	head, err := s.repo.Commit("main", msg, files)
	if err != nil {
		t.Fatal(err)
	}
	return head
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
	root := t.TempDir()
	repo, err := gittest.NewRepo(root, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(repo.Work, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	backend, err := gittest.NewHandler(root)
	if err != nil {
		t.Fatal(err)
	}
	srv = &gitServer{repo: repo}
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
		prepare(repo.Work, url)
	}
	return srv, url, srv.commit(t, name, nil)
}
