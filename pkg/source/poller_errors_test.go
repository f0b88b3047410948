package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireFailure polls, expects a failure of the given reason whose message
// contains want, and checks that the last good snapshot survived it.
func requireFailure(t *testing.T, p *Poller, good Snapshot, reason Reason, want string) error {
	t.Helper()
	s, err := p.Poll(context.Background())
	if err == nil {
		t.Fatalf("Poll succeeded with %s, want a %s failure", s.Commit, reason)
	}
	t.Logf("error: %v", err)
	if ReasonOf(err) != reason {
		t.Fatalf("reason = %q, want %q; err = %v", ReasonOf(err), reason, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q, want it to contain %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err is %T, want *Error", err)
	}
	if latest, ok := p.Latest(); good.Commit != "" && (!ok || latest.Commit != good.Commit) {
		t.Fatalf("Latest() = %s, %v after a failure; want the last good %s", latest.Commit, ok, good.Commit)
	}
	st := p.Status()
	if st.LastError == nil || st.LastError.Error() != err.Error() || st.LastErrorTime.IsZero() || st.ConsecutiveFailures == 0 {
		t.Fatalf("status after failure = %+v", st)
	}
	if good.Commit != "" && st.Commit != good.Commit {
		t.Fatalf("status commit = %s, want the last good %s", st.Commit, good.Commit)
	}
	return err
}

func TestPollFailuresKeepLastGoodSnapshot(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	repo.git("push", "--quiet", "origin", "main:release")
	srv := newGitServer(t, root, "", "")
	url := srv.URL + "/fleet.git"

	t.Run("deleted branch", func(t *testing.T) {
		p := newTestPoller(t, testOptions(url, "release", t.TempDir()), nil)
		good := mustPoll(t, p)
		repo.git("push", "--quiet", "origin", ":release")
		t.Cleanup(func() { repo.git("push", "--quiet", "origin", "main:release") })
		requireFailure(t, p, good, ReasonRefNotFound, `branch "release" not found in `+url)
		requireFailure(t, p, good, ReasonRefNotFound, `branch "release" not found in `+url)
		if n := p.Status().ConsecutiveFailures; n != 2 {
			t.Fatalf("consecutive failures = %d, want 2", n)
		}
		repo.git("push", "--quiet", "origin", "main:release")
		mustPoll(t, p)
		if st := p.Status(); st.ConsecutiveFailures != 0 || st.LastError != nil {
			t.Fatalf("status after recovery = %+v", st)
		}
	})

	t.Run("branch that never existed", func(t *testing.T) {
		p := newTestPoller(t, testOptions(url, "nope", t.TempDir()), nil)
		requireFailure(t, p, Snapshot{}, ReasonRefNotFound, `branch "nope" not found in `+url)
		if _, ok := p.Latest(); ok {
			t.Fatal("Latest() has a snapshot before any success")
		}
	})

	t.Run("missing repository", func(t *testing.T) {
		p := newTestPoller(t, testOptions(url, "main", t.TempDir()), nil)
		good := mustPoll(t, p)
		if err := os.Rename(repo.bare, repo.bare+".moved"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Rename(repo.bare+".moved", repo.bare) })
		requireFailure(t, p, good, ReasonRepositoryNotFound, "repository "+url+" not found")
		if err := os.Rename(repo.bare+".moved", repo.bare); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("missing local repository", func(t *testing.T) {
		missing := filepath.Join(root, "missing.git")
		p := newTestPoller(t, testOptions(missing, "main", t.TempDir()), nil)
		requireFailure(t, p, Snapshot{}, ReasonRepositoryNotFound, "repository "+missing+" not found")
	})

	t.Run("unreachable host", func(t *testing.T) {
		closed := closedPortURL(t)
		p := newTestPoller(t, testOptions(closed, "main", t.TempDir()), nil)
		err := requireFailure(t, p, Snapshot{}, ReasonUnreachable, "repository "+closed+" unreachable")
		if !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("err = %v, want the cause", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		t.Cleanup(hang.Close)
		opts := testOptions(hang.URL+"/fleet.git", "main", t.TempDir())
		opts.Timeout = 200 * time.Millisecond
		p := newTestPoller(t, opts, nil)
		requireFailure(t, p, Snapshot{}, ReasonTimeout, "timed out after 200ms")
	})
}

func TestPollBasicAuth(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	const user, secret = "deployer", "s3cret-t0ken"
	srv := newGitServer(t, root, user, secret)
	url := srv.URL + "/fleet.git"
	dir := t.TempDir()
	goodFile := filepath.Join(dir, "token")
	badFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(goodFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badFile, []byte("wrong-password"), 0o600); err != nil {
		t.Fatal(err)
	}
	withAuth := func(a Auth) Options {
		o := testOptions(url, "main", t.TempDir())
		o.Auth = a
		return o
	}

	t.Run("password file", func(t *testing.T) {
		s := mustPoll(t, newTestPoller(t, withAuth(Auth{Username: user, PasswordFile: goodFile}), nil))
		if s.Commit != repo.head() {
			t.Fatalf("commit = %s, want %s", s.Commit, repo.head())
		}
	})

	t.Run("password environment variable", func(t *testing.T) {
		t.Setenv("GITOPSD_TEST_GIT_TOKEN", secret)
		s := mustPoll(t, newTestPoller(t, withAuth(Auth{Username: user, PasswordEnv: "GITOPSD_TEST_GIT_TOKEN"}), nil))
		if s.Commit != repo.head() {
			t.Fatalf("commit = %s, want %s", s.Commit, repo.head())
		}
	})

	t.Run("rotated secret is read at the next poll", func(t *testing.T) {
		rotating := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(rotating, []byte("old-token"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := newTestPoller(t, withAuth(Auth{Username: user, PasswordFile: rotating}), nil)
		requireFailure(t, p, Snapshot{}, ReasonAuth, "authentication failed")
		if err := os.WriteFile(rotating, []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		mustPoll(t, p)
	})

	t.Run("wrong password", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{Username: user, PasswordFile: goodFile}), nil)
		good := mustPoll(t, p)
		p.opts.Auth.PasswordFile = badFile
		err := requireFailure(t, p, good, ReasonAuth, "authentication failed for "+url+": the server refused the credentials")
		if strings.Contains(err.Error(), "wrong-password") || strings.Contains(err.Error(), secret) {
			t.Fatalf("error leaks the secret: %v", err)
		}
		if !IsAuth(err) {
			t.Fatal("IsAuth(err) = false")
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		p := newTestPoller(t, testOptions(url, "main", t.TempDir()), nil)
		requireFailure(t, p, Snapshot{}, ReasonAuth, "authentication failed for "+url+": the server requires credentials and none are configured")
	})

	t.Run("unreadable password file", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{Username: user, PasswordFile: filepath.Join(dir, "absent")}), nil)
		requireFailure(t, p, Snapshot{}, ReasonConfig, "read password file")
	})

	t.Run("unset password variable", func(t *testing.T) {
		p := newTestPoller(t, withAuth(Auth{Username: user, PasswordEnv: "GITOPSD_TEST_UNSET_VARIABLE"}), nil)
		requireFailure(t, p, Snapshot{}, ReasonConfig, "environment variable GITOPSD_TEST_UNSET_VARIABLE is not set")
	})
}

func TestPollUnwritableCache(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A cache directory below a regular file cannot be created, even as root.
	p := newTestPoller(t, testOptions(repo.bare, "main", filepath.Join(blocker, "cache")), nil)
	requireFailure(t, p, Snapshot{}, ReasonCache, "cache: create directory")
}
