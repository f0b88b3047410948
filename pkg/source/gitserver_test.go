package source

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gitEnv isolates the git CLI from the machine's and the user's config.
func gitEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home,
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test Author",
		"GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Committer",
		"GIT_COMMITTER_EMAIL=committer@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// testRepo is a bare repository (what is served) and a working clone that
// commits and pushes to it, both made with the git CLI.
type testRepo struct {
	t    testing.TB
	bare string
	work string
}

// newTestRepo creates root/name.git with one commit on main.
func newTestRepo(t testing.TB, root, name string) *testRepo {
	t.Helper()
	r := &testRepo{t: t, bare: filepath.Join(root, name+".git"), work: filepath.Join(t.TempDir(), name)}
	runGit(t, root, "init", "--quiet", "--bare", "-b", "main", r.bare)
	runGit(t, root, "init", "--quiet", "-b", "main", r.work)
	runGit(t, r.work, "remote", "add", "origin", r.bare)
	r.commit("initial", map[string]string{"gitopsd.yaml": "installations: []\n"})
	return r
}

// commit writes files (an empty content removes the file), commits and
// pushes the current branch; it returns the new commit SHA.
func (r *testRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.write(files)
	runGit(r.t, r.work, "add", "-A")
	runGit(r.t, r.work, "commit", "--quiet", "--allow-empty", "-m", msg)
	runGit(r.t, r.work, "push", "--quiet", "origin", "HEAD")
	return r.head()
}

func (r *testRepo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if content == "" {
			if err := os.Remove(p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// symlink adds a symlink at name pointing at target (not committed yet).
func (r *testRepo) symlink(name, target string) {
	r.t.Helper()
	p := filepath.Join(r.work, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		r.t.Fatal(err)
	}
}

// amend rewrites the last commit and force-pushes it.
func (r *testRepo) amend(msg string, files map[string]string) string {
	r.t.Helper()
	r.write(files)
	runGit(r.t, r.work, "add", "-A")
	runGit(r.t, r.work, "commit", "--quiet", "--amend", "-m", msg)
	runGit(r.t, r.work, "push", "--quiet", "--force", "origin", "HEAD")
	return r.head()
}

func (r *testRepo) head() string {
	r.t.Helper()
	return runGit(r.t, r.work, "rev-parse", "HEAD")
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.work, args...)
}

// gitServer serves every repository under root over smart HTTP with the
// real git http-backend, optionally behind basic auth, and counts requests.
type gitServer struct {
	*httptest.Server
	infoRefs   atomic.Int64 // GET .../info/refs: the ls-remote round trip
	uploadPack atomic.Int64 // POST .../git-upload-pack: a fetch
	// stalled makes the server hang: it answers no request until the
	// client gives up.
	stalled atomic.Bool
}

func newGitServer(t testing.TB, root, user, password string) *gitServer {
	t.Helper()
	execPath := runGit(t, root, "--exec-path")
	backend := &cgi.Handler{
		Path:   filepath.Join(execPath, "git-http-backend"),
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
		Stderr: io.Discard, // "not a git repository" for the missing-repository tests
	}
	s := &gitServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			s.infoRefs.Add(1)
		case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			s.uploadPack.Add(1)
		}
		if s.stalled.Load() {
			<-r.Context().Done()
			return
		}
		if user != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *gitServer) reset() {
	s.infoRefs.Store(0)
	s.uploadPack.Store(0)
}

func (s *gitServer) counts() (infoRefs, uploadPack int64) {
	return s.infoRefs.Load(), s.uploadPack.Load()
}

// closedPortURL is an http URL on a loopback port nothing listens on.
func closedPortURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/fleet.git"
}

// testOptions poll rarely: tests drive rounds with Poll or Trigger.
func testOptions(url, ref, cacheDir string) Options {
	o := DefaultOptions()
	o.URL = url
	o.Ref = ref
	o.CacheDir = cacheDir
	o.Interval = time.Hour
	o.MaxBackoff = 2 * time.Hour
	o.Timeout = 20 * time.Second
	return o
}

func newTestPoller(t testing.TB, opts Options, log *slog.Logger) *Poller {
	t.Helper()
	p, err := NewPoller(opts, log, nil)
	if err != nil {
		t.Fatalf("NewPoller: %v", err)
	}
	return p
}

func mustPoll(t testing.TB, p *Poller) Snapshot {
	t.Helper()
	s, err := p.Poll(context.Background())
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return s
}

func readFile(t testing.TB, s Snapshot, name string) string {
	t.Helper()
	b, err := fs.ReadFile(s.Files, name)
	if err != nil {
		t.Fatalf("read %s at %s: %v", name, s.Commit, err)
	}
	return string(b)
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}
