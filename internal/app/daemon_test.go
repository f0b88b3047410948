package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

const daemonChildEnv = "GITOPSD_TEST_DAEMON_ARGS"

// runDaemonChild runs gitopsd with the arguments in daemonChildEnv, as the
// real binary would, and exits with its status.
func runDaemonChild() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Main(ctx, strings.Split(os.Getenv(daemonChildEnv), "\x1f"), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitopsd:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// daemonProcess is a gitopsd run process started by a test.
type daemonProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *daemontest.Buffer
	done chan struct{}
	err  error
}

// startDaemon starts `gitopsd run` with args plus an HTTP address and the
// test cluster's kubeconfig, and kills it when the test ends.
func startDaemon(t *testing.T, args ...string) *daemonProcess {
	t.Helper()
	addr := daemontest.FreeAddr(t)
	args = append([]string{"run", "--http-addr", addr, "--kubeconfig", env.Kubeconfig, "--log-level", "debug"}, args...)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), daemonChildEnv+"="+strings.Join(args, "\x1f"))
	d := &daemonProcess{t: t, cmd: cmd, addr: addr, logs: &daemontest.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			t.Logf("daemon %s logs:\n%s", addr, d.logs.String())
		}
	})
	return d
}

// freeAddr keeps the short name the plan and diff tests call.
func freeAddr(t *testing.T) string { return daemontest.FreeAddr(t) }

func (d *daemonProcess) kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

// status reads the daemon's status API; nil while it does not answer.
func (d *daemonProcess) status() *statusResponse {
	res, err := http.Get("http://" + d.addr + "/api/v1/installations")
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	var s statusResponse
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&s) != nil {
		return nil
	}
	return &s
}

// waitFor polls the status until check passes, failing the test after
// timeout with the last status.
func (d *daemonProcess) waitFor(timeout time.Duration, what string, check func(*statusResponse) bool) *statusResponse {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *statusResponse
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			d.t.Fatalf("daemon exited (%v) while waiting for %s", d.err, what)
		default:
		}
		if last = d.status(); last != nil && check(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
	js, _ := json.MarshalIndent(last, "", "  ")
	d.t.Fatalf("timed out after %s waiting for %s; last status:\n%s", timeout, what, js)
	return nil
}

// allAt reports whether every installation is Ready at commit.
func allAt(commit string) func(*statusResponse) bool {
	return func(s *statusResponse) bool {
		if len(s.Installations) == 0 {
			return false
		}
		for _, in := range s.Installations {
			if in.Phase != reconcile.Ready || in.AppliedCommit != commit {
				return false
			}
		}
		return true
	}
}

func findInstallation(s *statusResponse, name string) (reconcile.InstallationStatus, bool) {
	for _, in := range s.Installations {
		if in.Name == name {
			return in, true
		}
	}
	return reconcile.InstallationStatus{}, false
}

// push sends a signed GitHub push webhook for ref to the daemon.
func (d *daemonProcess) push(secret, repoURL, ref, commit string) {
	d.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/" + ref, "after": commit,
		"repository": map[string]any{"clone_url": repoURL, "html_url": repoURL, "full_name": "example/fleet"},
	})
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.addr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		d.t.Fatalf("webhook: %s %s", res.Status, msg)
	}
}

// gitRepo is a repository on disk the daemon follows.
type gitRepo struct {
	t   *testing.T
	dir string
}

// newGitRepo copies src into a new repository and commits it on main.
func newGitRepo(t *testing.T, src string) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: filepath.Join(t.TempDir(), "fleet")}
	if err := os.CopyFS(r.dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	r.commit("initial fleet")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits everything and returns the new commit.
func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *gitRepo) write(name, data string) { write(r.t, r.dir, name, data) }

func (r *gitRepo) remove(name string) {
	if err := os.RemoveAll(filepath.Join(r.dir, name)); err != nil {
		r.t.Fatal(err)
	}
}
