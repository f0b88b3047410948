// Command demo shows gitopsd to a newcomer (`make demo`): it starts the local
// control plane, turns examples/repo into a Git repository served by git
// http-backend, runs `gitopsd run` against it, and walks through the initial
// sync, a pushed commit, drift, a pull request planned on an in-process
// GitHub (githubtest), and a merged pull request cut over blue/green and
// rolled back, then leaves everything running until Ctrl-C.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gitopsd/gitopsd/internal/example"
	"github.com/gitopsd/gitopsd/internal/gittest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

const webhookSecret = "demo-secret"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// demo holds what the walk-through started.
type demo struct {
	dir, fleet, gitopsd, kubectl, kubeconfig, addr string
	// repoURL is the fleet served over HTTP by git http-backend.
	repoURL string
	// github is the in-process GitHub the daemon posts plan checks to.
	github *githubtest.Server
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gitopsd, err := filepath.Abs("bin/gitopsd")
	if err != nil {
		return err
	}
	// A directory of its own, so that two demos on one machine keep apart.
	if err := os.MkdirAll(testenv.CacheDir(), 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(testenv.CacheDir(), "demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d := &demo{dir: dir, gitopsd: gitopsd, kubectl: filepath.Join(testenv.BinDir(), "kubectl")}
	d.fleet = filepath.Join(d.dir, "fleet")

	step("Starting a local Kubernetes %s control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok fake nodes)", testenv.KubernetesVersion)
	env, err := testenv.Start(ctx, testenv.Options{Size: testenv.Full, Dir: filepath.Join(d.dir, "cluster")})
	if err != nil {
		return err
	}
	defer env.Stop()
	d.kubeconfig = env.Kubeconfig

	step("Making a Git repository from examples/repo, with deploy/ as the base of gitopsd's own installation")
	if err := example.Fleet(".", d.fleet); err != nil {
		return err
	}
	if err := d.git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := d.commit("the fleet: mattermost staging and production, backups, monitoring, checkout, gitopsd itself"); err != nil {
		return err
	}
	// Like GitHub, serve any commit by its SHA.
	if err := d.git("config", "uploadpack.allowAnySHA1InWant", "true"); err != nil {
		return err
	}
	gitServer, err := gittest.NewServer(d.dir)
	if err != nil {
		return err
	}
	defer gitServer.Close()
	d.repoURL = gitServer.URL + "/fleet/.git"
	d.github = githubtest.NewServer(githubtest.Options{})
	defer d.github.Close()
	fmt.Printf("served at %s by git http-backend; GitHub's API (githubtest) at %s\n", d.repoURL, d.github.URL)
	d.show("cat", filepath.Join(d.fleet, "gitopsd.yaml"))

	daemon, err := d.startDaemon()
	if err != nil {
		return err
	}
	defer daemon.stop()

	step("Initial sync: gitopsd renders each installation, applies it with server-side apply, and waits for health")
	if err := d.waitReady(ctx, 90*time.Second); err != nil {
		return fmt.Errorf("%w (daemon log: %s)", err, daemon.log)
	}
	d.show(d.gitopsd, "status", "--server", "http://"+d.addr)
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "get", "deployments", "-A", "-l", "gitopsd.io/installation")

	step("A new commit: staging gets 3 replicas, pushed with a signed GitHub webhook")
	patch := filepath.Join(d.fleet, "apps/mattermost/overlays/staging/replicas.yaml")
	if err := os.WriteFile(patch, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mattermost\nspec:\n  replicas: 3\n"), 0o644); err != nil {
		return err
	}
	kust := filepath.Join(d.fleet, "apps/mattermost/overlays/staging/kustomization.yaml")
	if err := appendFile(kust, "  - path: replicas.yaml\n"); err != nil {
		return err
	}
	if err := d.commit("staging: 3 replicas"); err != nil {
		return err
	}
	start := time.Now()
	if err := d.push(); err != nil {
		return err
	}
	if err := d.waitReady(ctx, 60*time.Second); err != nil {
		return err
	}
	fmt.Printf("applied and healthy %s after the push\n", time.Since(start).Round(time.Millisecond))
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "get", "deployment", "-n", "mattermost-staging")
	d.show(d.gitopsd, "status", "--server", "http://"+d.addr)

	step("Drift: someone scales staging by hand; gitopsd sees the change on its watch and puts Git's 3 back")
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", "mattermost-staging", "scale", "deployment/mattermost", "--replicas=6")
	start = time.Now()
	if err := d.waitReplicas(ctx, "mattermost-staging", "3"); err != nil {
		return err
	}
	fmt.Printf("corrected %s after the scale\n", time.Since(start).Round(time.Millisecond))

	step("Drift in production, whose gitopsd.yaml entry says drift: report: reported, left alone")
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", "mattermost-production", "scale", "deployment/mattermost", "--replicas=5")
	if err := d.waitDriftReported(ctx); err != nil {
		return err
	}
	d.show(d.gitopsd, "status", "--server", "http://"+d.addr)

	if err := d.pullRequest(ctx); err != nil {
		return err
	}
	if err := d.cutover(ctx); err != nil {
		return fmt.Errorf("%w (daemon log: %s)", err, daemon.log)
	}

	fmt.Printf(`
Everything keeps running. The status page: http://%s/
In another terminal, try:

  export KUBECONFIG=%s
  %s get all -n mattermost-staging
  %s status --server http://%s
  curl -s http://%s/metrics | grep ^gitopsd_

  cd %s
  # edit a manifest, then:
  git commit -am "my change"      # gitopsd polls every 5s and applies it
  %s diff --dir . --kubeconfig $KUBECONFIG   # what would change, before committing

The daemon logs to %s.
Press Ctrl-C to stop the daemon and the cluster and remove %s.
`, d.addr, d.kubeconfig, d.kubectl, d.gitopsd, d.addr, d.addr, d.fleet, d.gitopsd, daemon.log, d.dir)
	<-ctx.Done()
	fmt.Println("\nstopping gitopsd and the local cluster ...")
	return nil
}

type daemonProc struct {
	cmd *exec.Cmd
	log string
}

func (d *demo) startDaemon() (*daemonProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.addr = l.Addr().String()
	l.Close()
	secret := filepath.Join(d.dir, "webhook-secret")
	if err := os.WriteFile(secret, []byte(webhookSecret), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(d.dir, "gitopsd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	token := filepath.Join(d.dir, "github-token")
	if err := os.WriteFile(token, []byte(d.github.Token()), 0o600); err != nil {
		return nil, err
	}
	apiToken := filepath.Join(d.dir, "api-token")
	if err := os.WriteFile(apiToken, []byte("demo-api-token"), 0o600); err != nil {
		return nil, err
	}
	args := []string{"run", "--repo", d.repoURL, "--api-token-file", apiToken, "--kubeconfig", d.kubeconfig, "--interval", "5s",
		"--http-addr", d.addr, "--webhook-secret-file", secret, "--cache-dir", filepath.Join(d.dir, "repos"),
		"--github-token-file", token, "--github-api-url", d.github.URL, "--github-repository", d.github.Repository(),
		"--external-url", "http://" + d.addr}
	step("Running: gitopsd %s", strings.Join(args, " "))
	cmd := exec.Command(d.gitopsd, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &daemonProc{cmd: cmd, log: logPath}, nil
}

func (p *daemonProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// waitReady polls the status API until every installation is Ready at the
// repository's HEAD.
func (d *demo) waitReady(ctx context.Context, timeout time.Duration) error {
	head, err := d.output("git", "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	return pollFor(ctx, timeout, "every installation to be Ready (see gitopsd status)", func() bool { return d.allReady(head) })
}

func (d *demo) allReady(head string) bool {
	res, err := http.Get("http://" + d.addr + "/api/v1/installations")
	if err != nil {
		return false // not serving yet
	}
	defer res.Body.Close()
	var s struct {
		Installations []struct{ Phase, AppliedCommit string }
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || len(s.Installations) == 0 {
		return false
	}
	for _, in := range s.Installations {
		if in.Phase != "Ready" || in.AppliedCommit != head {
			return false
		}
	}
	return true
}

// waitReplicas polls until the mattermost Deployment in ns wants replicas.
func (d *demo) waitReplicas(ctx context.Context, ns, replicas string) error {
	return pollFor(ctx, 30*time.Second, "replicas "+replicas+" in "+ns, func() bool {
		out, err := d.output(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", ns, "get", "deployment", "mattermost", "-o", "jsonpath={.spec.replicas}")
		return err == nil && out == replicas
	})
}

// waitDriftReported polls the status API until production reports drift.
func (d *demo) waitDriftReported(ctx context.Context) error {
	return pollFor(ctx, 30*time.Second, "drift in production to be reported", func() bool {
		res, err := http.Get("http://" + d.addr + "/api/v1/installations")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var s struct {
			Installations []struct {
				Name  string
				Drift []json.RawMessage
			}
		}
		if json.NewDecoder(res.Body).Decode(&s) != nil {
			return false
		}
		for _, in := range s.Installations {
			if in.Name == "mattermost-production" && len(in.Drift) > 0 {
				return true
			}
		}
		return false
	})
}

func pollFor(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
	return nil
}

// push sends GitHub's push webhook for main, signed with the shared secret.
func (d *demo) push() error {
	return d.webhook("push", map[string]any{"ref": "refs/heads/main", "repository": map[string]any{"clone_url": d.repoURL, "full_name": d.github.Repository()}})
}

// webhook sends a GitHub webhook delivery, signed with the shared secret.
func (d *demo) webhook(event string, payload any) error {
	body, _ := json.Marshal(payload)
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+d.addr+"/hooks/github", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	fmt.Printf("POST /hooks/github (%s): %s\n", event, res.Status)
	return nil
}

func (d *demo) commit(msg string) error {
	if err := d.git("add", "-A"); err != nil {
		return err
	}
	return d.git("commit", "-q", "-m", msg)
}

func (d *demo) git(args ...string) error {
	_, err := d.output("git", args...)
	return err
}

func (d *demo) output(name string, args ...string) (string, error) {
	if name == "git" {
		args = append([]string{"-c", "user.name=gitopsd demo", "-c", "user.email=demo@example.com"}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = d.fleet
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// show prints a command and its output.
func (d *demo) show(name string, args ...string) {
	fmt.Printf("\n$ %s %s\n", filepath.Base(name), strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	_ = cmd.Run()
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
