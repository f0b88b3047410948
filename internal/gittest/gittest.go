package gittest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Git runs the git CLI in dir, isolated from the machine's configuration,
// and returns its trimmed output.
func Git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=gittest", "GIT_AUTHOR_EMAIL=gittest@example.com",
		"GIT_COMMITTER_NAME=gittest", "GIT_COMMITTER_EMAIL=gittest@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, lookErr := exec.LookPath("git"); lookErr != nil {
			return "", fmt.Errorf("git is not installed (apt-get install git): %w", lookErr)
		}
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Repo is a bare repository under a server's root and a working clone of it.
type Repo struct {
	// Bare is the served repository, ROOT/NAME.git.
	Bare string
	// Work is the working clone commits are made in.
	Work string
}

// NewRepo creates root/name.git, empty, and a working clone beside it
// (root/name.work) whose commits go to it. Like GitHub, the repository
// serves any commit by its SHA.
func NewRepo(root, name string) (*Repo, error) {
	r := &Repo{Bare: filepath.Join(root, name+".git"), Work: filepath.Join(root, name+".work")}
	for _, args := range [][]string{
		{"init", "--quiet", "--bare", "-b", "main", r.Bare},
		// Like GitHub, serve any commit by its SHA.
		{"-C", r.Bare, "config", "uploadpack.allowAnySHA1InWant", "true"},
		{"init", "--quiet", "-b", "main", r.Work},
		{"-C", r.Work, "remote", "add", "origin", r.Bare},
	} {
		if _, err := Git(root, args...); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Commit writes files into branch (a new branch starts from main; a file
// given as "" is removed), commits them and pushes the branch. It returns
// the new commit's SHA.
func (r *Repo) Commit(branch, msg string, files map[string]string) (string, error) {
	if err := r.checkout(branch); err != nil {
		return "", err
	}
	if err := WriteFiles(r.Work, files); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"add", "-A"},
		{"commit", "--quiet", "--allow-empty", "-m", msg},
		{"push", "--quiet", "--force", "origin", "HEAD:refs/heads/" + branch},
	} {
		if _, err := Git(r.Work, args...); err != nil {
			return "", err
		}
	}
	return Git(r.Work, "rev-parse", "HEAD")
}

// checkout switches the working clone to branch, creating it from main when
// it does not exist yet (main itself on the first commit).
func (r *Repo) checkout(branch string) error {
	current, _ := Git(r.Work, "symbolic-ref", "--short", "HEAD")
	if current == branch {
		return nil
	}
	if _, err := Git(r.Work, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
		_, err = Git(r.Work, "checkout", "--quiet", branch)
		return err
	}
	_, err := Git(r.Work, "checkout", "--quiet", "-b", branch, "main")
	return err
}

// SetRef points ref (a full name such as refs/pull/1/head) of the bare
// repository at sha.
func (r *Repo) SetRef(ref, sha string) error {
	_, err := Git(r.Bare, "update-ref", ref, sha)
	return err
}

// WriteFiles writes files (slash-separated names) under dir; an empty
// content removes the file.
func WriteFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Server serves every repository under a root over smart HTTP with git
// http-backend, and counts fetches.
type Server struct {
	// URL is the server's base URL; a repository is at URL/NAME.git.
	URL  string
	http *httptest.Server
	// Fetches counts git-upload-pack requests: one per fetch.
	Fetches atomic.Int64
}

// NewServer serves the repositories under root on a loopback port.
func NewServer(root string) (*Server, error) {
	h, err := NewHandler(root)
	if err != nil {
		return nil, err
	}
	s := &Server{}
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			s.Fetches.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	s.URL = s.http.URL
	return s, nil
}

// NewHandler is git http-backend serving the repositories under root, for
// a test that puts its own server (authentication, outages) around it.
func NewHandler(root string) (http.Handler, error) {
	execPath, err := Git(root, "--exec-path")
	if err != nil {
		return nil, err
	}
	backend := filepath.Join(execPath, "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("git http-backend is missing (install git's full package): %w", err)
	}
	return &cgi.Handler{
		Path:   backend,
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull},
		Stderr: io.Discard,
	}, nil
}

// Close stops serving.
func (s *Server) Close() { s.http.Close() }
