package reconcile

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

type noEvents struct{}

func (noEvents) Event(string, string, string, string) {}

// TestDenyWindowHoldsACommit follows a real repository with a deny window
// from 09:00 to 17:00: a commit made inside it is held, and applies once the
// window has closed.
func TestDenyWindowHoldsACommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := env.Namespace(t)
	repo := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	writeFile := func(name, data string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("gitopsd.yaml", "installations:\n  - name: held\n    path: app\n    windows:\n      - kind: deny\n        schedule: \"0 9 * * *\"\n        duration: 8h\n")
	cm := func(v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: " + ns + "}\ndata: {version: '" + v + "'}\n"
	}
	writeFile("app/cm.yaml", cm("1"))
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "v1")

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir = repo, t.TempDir()
	poller, err := source.NewPoller(opts, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := inventory.NewStore(env.Client, ns)
	manager, err := apply.NewManager(env.Config, store, log)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	ropts := DefaultOptions()
	ropts.Now, ropts.Source = clk.Now, repo
	ropts.Load = func(files fs.FS) (Fleet, error) {
		cfg, err := config.Load(files, "fleet")
		if err != nil {
			return Fleet{}, err
		}
		c := cfg.Installations[0]
		return Fleet{Installations: []Installation{{Name: c.Name, Path: c.Path, Prune: true, Interval: c.Interval, Timeout: c.Timeout, Windows: c.Windows}}}, nil
	}
	r := New(poller, render.NewRenderer(render.DefaultOptions(), nil), manager, store, noEvents{}, NewMetrics(), log, ropts)
	if _, err := poller.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitPhase(t, r, Ready)
	version := func() string {
		got, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Data["version"]
	}

	clk.Set(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	writeFile("app/cm.yaml", cm("2"))
	git("commit", "-q", "-am", "v2")
	if _, err := poller.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	st := waitPhase(t, r, Held)
	if st.HeldUntil == nil || !st.HeldUntil.Equal(time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("held until %v, want 17:00 UTC", st.HeldUntil)
	}
	if v := version(); v != "1" {
		t.Errorf("a held commit was applied: version %s", v)
	}

	clk.Set(time.Date(2026, 11, 23, 17, 0, 1, 0, time.UTC))
	r.Trigger("held")
	waitPhase(t, r, Ready)
	if v := version(); v != "2" {
		t.Errorf("after the window: version %s, want 2", v)
	}
}

func waitPhase(t *testing.T, r *Reconciler, phase Phase) InstallationStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, in := range r.Status().Installations {
			if in.Phase == phase {
				return in
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no installation reached %s: %+v", phase, r.Status())
	return InstallationStatus{}
}
