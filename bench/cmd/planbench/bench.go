package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/internal/gittest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"sigs.k8s.io/yaml"
)

const (
	webhookSecret = "planbench-secret"
	// branch is the pull request's.
	branch = "change"
	// annotation is what each push changes on every object of the first
	// installation.
	annotation = "bench.gitopsd.io/push"
)

// bench is a fleet served by git http-backend and applied to the cluster,
// githubtest, and the daemon planning the fleet's pull requests.
type bench struct {
	env      *testenv.Env
	opts     Options
	progress io.Writer
	dir      string
	git      *gittest.Server
	repo     *gittest.Repo
	repoURL  string
	gh       *githubtest.Server
	sets     []*objects.Set // one per installation
	main     string         // main's commit
	daemon   *exec.Cmd
	done     chan struct{}
	addr     string
	log      string
}

// newBench writes and serves the fleet, applies main, and starts the daemon.
func newBench(ctx context.Context, env *testenv.Env, bin, dir string, opts Options, progress io.Writer) (*bench, error) {
	b := &bench{env: env, opts: opts, progress: progress, dir: dir, done: make(chan struct{})}
	var err error
	root := filepath.Join(dir, "git")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	if b.git, err = gittest.NewServer(root); err != nil {
		return nil, err
	}
	if b.repo, err = gittest.NewRepo(root, "fleet"); err != nil {
		return nil, err
	}
	b.repoURL = b.git.URL + "/fleet.git"
	for i := range opts.Installations {
		b.sets = append(b.sets, objects.Generate(fmt.Sprintf("plan-%02d", i), opts.Objects))
	}
	files, err := b.files(0)
	if err != nil {
		return nil, err
	}
	if b.main, err = b.repo.Commit("main", "the fleet", files); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "planbench: applying %d installations of %d objects\n", opts.Installations, opts.Objects)
	if err := b.applyMain(ctx); err != nil {
		return nil, err
	}
	b.gh = githubtest.NewServer(githubtest.Options{})
	if err := b.startDaemon(ctx, bin); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// files is the fleet's gitopsd.yaml and each installation's objects, the
// first installation's annotated with push (none for 0).
func (b *bench) files(push int) (map[string]string, error) {
	var cfg strings.Builder
	cfg.WriteString("installations:\n")
	files := map[string]string{}
	for i, set := range b.sets {
		fmt.Fprintf(&cfg, "  - name: %s\n    path: apps/%s\n", set.Prefix, set.Prefix)
		var out strings.Builder
		for _, o := range set.Objects {
			o = o.DeepCopy()
			if i == 0 && push > 0 {
				a := o.GetAnnotations()
				if a == nil {
					a = map[string]string{}
				}
				a[annotation] = strconv.Itoa(push)
				o.SetAnnotations(a)
			}
			data, err := yaml.Marshal(o.Object)
			if err != nil {
				return nil, err
			}
			out.WriteString("---\n")
			out.Write(data)
		}
		files["apps/"+set.Prefix+"/objects.yaml"] = out.String()
	}
	files["gitopsd.yaml"] = cfg.String()
	return files, nil
}

// applyMain applies main as the daemon following it would.
func (b *bench) applyMain(ctx context.Context) error {
	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir = b.repoURL, filepath.Join(b.dir, "bench-cache")
	poller, err := source.NewPoller(opts, nil, nil)
	if err != nil {
		return err
	}
	snap, err := poller.Poll(ctx)
	if err != nil {
		return err
	}
	manager, err := apply.NewManager(b.env.Config, inventory.NewStore(b.env.Client, inventory.DefaultNamespace), nil)
	if err != nil {
		return err
	}
	r := render.NewRenderer(render.DefaultOptions(), nil)
	for _, set := range b.sets {
		objs, err := r.Render(ctx, snap.Files, snap.Commit, "apps/"+set.Prefix)
		if err != nil {
			return err
		}
		cs, err := manager.Apply(ctx, apply.Request{Installation: set.Prefix, Source: b.repoURL + "@main", Commit: snap.Commit, Objects: objs}, apply.DefaultOptions())
		if err == nil {
			err = cs.Err()
		}
		if err != nil {
			return fmt.Errorf("apply %s: %w", set.Prefix, err)
		}
	}
	return nil
}

// startDaemon runs `gitopsd run -target=plan,webhook` on the fleet and
// waits until it is ready.
func (b *bench) startDaemon(ctx context.Context, bin string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.addr = l.Addr().String()
	l.Close()
	token, secret := filepath.Join(b.dir, "token"), filepath.Join(b.dir, "secret")
	if err := os.WriteFile(token, []byte(b.gh.Token()), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(secret, []byte(webhookSecret), 0o600); err != nil {
		return err
	}
	b.log = filepath.Join(b.dir, "gitopsd.log")
	logFile, err := os.Create(b.log)
	if err != nil {
		return err
	}
	b.daemon = exec.Command(bin, "run", "-target=plan,webhook", "--repo", b.repoURL, "--kubeconfig", b.env.Kubeconfig,
		"--http-addr", b.addr, "--interval", "1h", "--leader-elect=false", "--cache-dir", filepath.Join(b.dir, "cache"),
		"--webhook-secret-file", secret, "--github-token-file", token, "--github-api-url", b.gh.URL, "--github-repository", b.gh.Repository())
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITOPSD_") {
			b.daemon.Env = append(b.daemon.Env, kv)
		}
	}
	b.daemon.Stdout, b.daemon.Stderr = logFile, logFile
	b.daemon.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.daemon.Start(); err != nil {
		logFile.Close()
		return err
	}
	go func() {
		_ = b.daemon.Wait()
		logFile.Close()
		close(b.done)
	}()
	return b.poll(ctx, time.Minute, "the daemon to be ready", func() bool {
		res, err := http.Get("http://" + b.addr + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// stop ends the daemon and the servers.
func (b *bench) stop() {
	if b.daemon != nil && b.daemon.Process != nil {
		_ = b.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(30 * time.Second):
			_ = b.daemon.Process.Kill()
			<-b.done
		}
	}
	if b.gh != nil {
		b.gh.Close()
	}
	b.git.Close()
}

// poll checks ok every few milliseconds until it holds.
func (b *bench) poll(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		select {
		case <-b.done:
			return fmt.Errorf("the daemon exited while waiting for %s; its log:\n%s", what, tail(b.log))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s; the daemon's log:\n%s", timeout, what, tail(b.log))
		}
		time.Sleep(2 * time.Millisecond) // the clock's resolution, not synchronisation
	}
	return nil
}

// webhook sends a signed pull_request delivery for pull request number as
// githubtest shows it now.
func (b *bench) webhook(action string, number int) error {
	pr, _ := b.gh.PullRequest(number)
	body, err := json.Marshal(map[string]any{
		"action": action, "number": number, "pull_request": pr,
		"repository": map[string]any{"clone_url": b.repoURL, "full_name": b.gh.Repository()},
	})
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+b.addr+"/hooks/github", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("webhook %s: %s", action, res.Status)
	}
	return nil
}

// tail is the end of a log file.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}
