package reconcile

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

// repo is a Git repository on disk that a poller follows.
type repo struct {
	t      *testing.T
	ns     string // replaces "NS" in the files written
	dir    string
	poller *source.Poller
}

// newRepo commits files (name to content) on main.
func newRepo(t *testing.T, ns string, files map[string]string) *repo {
	t.Helper()
	r := &repo{t: t, ns: ns, dir: filepath.Join(t.TempDir(), "fleet")}
	for name, data := range files {
		r.write(name, data)
	}
	r.git("init", "-q", "-b", "main")
	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir = r.dir, t.TempDir()
	var err error
	if r.poller, err = source.NewPoller(opts, slog.New(slog.DiscardHandler), nil); err != nil {
		t.Fatal(err)
	}
	r.commit("initial")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(name, data string) {
	r.t.Helper()
	data = strings.ReplaceAll(data, "NS", r.ns)
	path := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) remove(name string) {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.dir, name)); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything, lets the poller see it, and returns the commit.
func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	if _, err := r.poller.Poll(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	return r.git("rev-parse", "HEAD")
}

// daemon is a reconciler with drift detection, its inventories in the
// test's namespace, on the test plane.
type daemon struct {
	t           *testing.T
	ns          string
	r           *Reconciler
	inventories *WatchedInventories
	store       *inventory.Store
	requests    *testenv.Requests // every request of the daemon
	events      *eventLog
	registry    *prometheus.Registry
	logs        *daemontest.Buffer
	stop        func()
}

// setup tunes a daemon before it starts.
type setup struct {
	config   *rest.Config                     // default env.Config
	source   string                           // default the repository's directory
	events   func(*WatchedInventories) Events // default an eventLog
	store    func(Store) Store                // wraps the inventory store
	detector func(Drift) Drift                // wraps the drift detector
	opts     func(*Options)
	drift    func(*drift.Options)
}

func startDaemon(t *testing.T, ns string, rp *repo, s setup) *daemon {
	t.Helper()
	if s.config == nil {
		s.config = env.Config
	}
	cfg, requests := testenv.CountRequests(s.config)
	reach := NewReachability(nil)
	cfg.Wrap(reach.Wrap)
	logs := &daemontest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := inventory.NewStore(client, ns)
	var wrapped Store = store
	if s.store != nil {
		wrapped = s.store(store)
	}
	inventories := NewWatchedInventories(wrapped, meta, ns)
	manager, err := apply.NewManager(cfg, inventories, log)
	if err != nil {
		t.Fatal(err)
	}
	registry := prometheus.NewRegistry()
	metrics, driftMetrics := NewMetrics(), drift.NewMetrics()
	if err := metrics.Register(registry); err != nil {
		t.Fatal(err)
	}
	if err := driftMetrics.Register(registry); err != nil {
		t.Fatal(err)
	}
	ddeps := drift.Deps{Metadata: meta, Mapper: manager, Checker: manager, Metrics: driftMetrics, Log: log}
	dopts := drift.DefaultOptions()
	if s.drift != nil {
		s.drift(&dopts)
	}
	opts := DefaultOptions()
	opts.Source, opts.Name = rp.dir, "fleet"
	opts.RetryBase, opts.MaxBackoff, opts.ShutdownGrace = 200*time.Millisecond, 2*time.Second, 5*time.Second
	if s.source != "" {
		opts.Source = s.source
	}
	if s.opts != nil {
		s.opts(&opts)
	}
	d := &daemon{t: t, ns: ns, inventories: inventories, store: store, requests: requests, events: &eventLog{}, registry: registry, logs: logs}
	var events Events = d.events
	if s.events != nil {
		events = s.events(inventories)
	}
	if recorder, ok := events.(drift.Recorder); ok {
		ddeps.Recorder = recorder
	}
	detector, err := drift.NewDetector(ddeps, dopts)
	if err != nil {
		t.Fatal(err)
	}
	var driftDep Drift = detector
	if s.detector != nil {
		driftDep = s.detector(detector)
	}
	d.r, err = New(Deps{
		Snapshots: rp.poller, Renderer: render.NewRenderer(render.DefaultOptions(), nil), Applier: manager, Inventories: inventories,
		Drift: driftDep, Events: events, Metrics: metrics, Log: log, Reachability: reach,
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.r.Run(ctx); close(done) }()
	d.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the reconciler did not stop")
		}
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return d
}

// waitFor polls the status until ok, and fails the test with the last
// status after timeout.
func (d *daemon) waitFor(timeout time.Duration, what string, ok func(Status) bool) Status {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := d.r.Status()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			js, _ := json.MarshalIndent(s, "", "  ")
			d.t.Fatalf("timed out after %s waiting for %s; status:\n%s", timeout, what, js)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// installation returns the status of the installation called name.
func installation(s Status, name string) (InstallationStatus, bool) {
	for _, in := range s.Installations {
		if in.Name == name {
			return in, true
		}
	}
	return InstallationStatus{}, false
}

// readyAt is true when every installation is Ready at commit.
func readyAt(commit string) func(Status) bool {
	return func(s Status) bool {
		for _, in := range s.Installations {
			if in.Phase != Ready || in.AppliedCommit != commit {
				return false
			}
		}
		return len(s.Installations) > 0
	}
}

// eventLog records the events of installations.
type eventLog struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	installation, eventType, reason, message string
	at                                       time.Time
}

func (l *eventLog) Event(installation, eventType, reason, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event{installation, eventType, reason, message, time.Now()})
}

// with returns the events of the given reason, in order.
func (l *eventLog) with(reason string) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event
	for _, e := range l.events {
		if e.reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// poll reports whether ok came true within timeout.
func poll(timeout time.Duration, ok func() bool) bool { return daemontest.Poll(timeout, ok) == nil }

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: NAME, namespace: NS}\ndata: {v: 'VALUE'}\n"

// cm is a ConfigMap manifest named name with data v=value.
func cm(name, value string) string {
	return strings.NewReplacer("NAME", name, "VALUE", value).Replace(configMap)
}

// metric returns the value of a counter or gauge, or the sample count of a
// histogram, summed over the series of installation (all series when
// empty); -1 when there is no such series.
func metric(t *testing.T, d *daemon, name, installation string, labels ...string) float64 {
	t.Helper()
	families, err := d.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum, found := 0.0, false
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			want := map[string]string{}
			if installation != "" {
				want["installation"] = installation
			}
			for i := 0; i+1 < len(labels); i += 2 {
				want[labels[i]] = labels[i+1]
			}
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue series
				}
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if !found {
		return -1
	}
	return sum
}
