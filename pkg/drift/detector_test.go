package drift

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

// loop plays the reconciler: it applies an installation, tells the detector
// what it owns, and re-applies when the detector asks for a correction.
type loop struct {
	t        *testing.T
	ns       string
	manager  *apply.Manager
	detector *Detector
	req      apply.Request
	opts     apply.Options
	correct  bool
	requests *testenv.Requests // the detector's

	applyMu sync.Mutex // one apply at a time, as the reconciler's worker

	mu      sync.Mutex
	reports []Report
	applies int
	checks  int  // CheckDrift calls
	closed  bool // a sync window is closed
}

// Correctable lets every correction through, unless the test closed the
// window.
func (l *loop) Correctable(string) (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false, "sync window closed"
	}
	return true, ""
}

// Trigger corrects by reconciling, as the reconciler does.
func (l *loop) Trigger(string) { l.apply() }

// CheckDrift counts the detector's checks and passes them on.
func (l *loop) CheckDrift(ctx context.Context, req apply.Request, opts apply.Options, keys []render.Key) ([]apply.Drift, error) {
	l.mu.Lock()
	l.checks++
	l.mu.Unlock()
	return l.manager.CheckDrift(ctx, req, opts, keys)
}

func newLoop(t *testing.T, correct bool, opts apply.Options, manifests ...string) *loop {
	t.Helper()
	return newLoopWith(t, correct, opts, DefaultOptions(), manifests...)
}

func newLoopWith(t *testing.T, correct bool, opts apply.Options, dopts Options, manifests ...string) *loop {
	t.Helper()
	l := newStoppedLoop(t, correct, opts, dopts, manifests...)
	l.run()
	l.apply()
	return l
}

// run starts the detector, until the test ends.
func (l *loop) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = l.detector.Run(ctx, l); close(done) }()
	l.t.Cleanup(func() { cancel(); <-done })
}

// newStoppedLoop is a loop whose detector does not run and which has not
// applied yet.
func newStoppedLoop(t *testing.T, correct bool, opts apply.Options, dopts Options, manifests ...string) *loop {
	t.Helper()
	l := &loop{t: t, ns: env.Namespace(t), opts: opts, correct: correct}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	if l.manager, err = apply.NewManager(env.Config, inventory.NewStore(env.Client, l.ns), log); err != nil {
		t.Fatal(err)
	}
	cfg, requests := testenv.CountRequests(env.Config)
	l.requests = requests
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dopts.OnReport = func(_ string, r Report) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.reports = append(l.reports, r)
	}
	if l.detector, err = NewDetector(Deps{Metadata: meta, Mapper: l.manager, Checker: l, Log: log}, dopts); err != nil {
		t.Fatal(err)
	}
	repo := fstest.MapFS{}
	for i, m := range manifests {
		repo[fmt.Sprintf("m%d.yaml", i)] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(m, "NS", l.ns))}
	}
	set, err := render.NewRenderer(render.DefaultOptions(), nil).Render(context.Background(), repo, "", ".")
	if err != nil {
		t.Fatal(err)
	}
	l.req = apply.Request{Installation: "app-" + l.ns, Namespace: l.ns, Objects: set}
	return l
}

// TestDeletedBeforeTheWatchListedIsReported deletes an object after the
// apply but before the watch's initial list, which then sends no event for
// it: the list itself shows it missing.
func TestDeletedBeforeTheWatchListedIsReported(t *testing.T) {
	l := newStoppedLoop(t, false, apply.DefaultOptions(), DefaultOptions(), configMap, service)
	l.apply() // tracked; the watches start with the detector
	l.kubectl("delete", "configmap", "settings")
	l.run()
	if r := l.waitReport("settings", 0); r.Action != Reported {
		t.Errorf("the deleted ConfigMap: %+v, want reported", r)
	}
}

// apply reconciles once, as the reconciler's worker does.
func (l *loop) apply() {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	opts := l.opts
	opts.ReportDrift = !l.correct
	opts.Hold = l.detector.Holds(l.req.Installation)
	l.detector.Pause(l.req.Installation)
	cs, err := l.manager.Apply(context.Background(), l.req, opts)
	if err == nil {
		err = cs.Err()
	}
	if err != nil {
		l.detector.Resume(l.req.Installation)
		l.t.Error(err)
		return
	}
	l.mu.Lock()
	l.applies++
	l.mu.Unlock()
	l.detector.Track(Applied{Request: l.req, Options: opts, Owned: cs.Owned})
}

func (l *loop) reportsSoFar() []Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Report(nil), l.reports...)
}

// waitReport waits for a report on the object called name.
func (l *loop) waitReport(name string, since int) Report {
	l.t.Helper()
	var found *Report
	err := poll(10*time.Second, func() bool {
		for _, r := range l.reportsSoFar()[since:] {
			if r.Key.Name == name {
				found = &r
				return true
			}
		}
		return false
	})
	if err != nil {
		l.t.Fatalf("no drift reported for %s; reports: %+v", name, l.reportsSoFar())
	}
	return *found
}

func (l *loop) kubectl(args ...string) {
	l.t.Helper()
	out, err := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig, "-n", l.ns}, args...)...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

func poll(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

const (
	configMap  = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: NS}\ndata: {mode: git}\n"
	service    = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: NS}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
	secret     = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\nstringData: {password: hunter2}\n"
	deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
`
)

func (l *loop) configMap() *corev1.ConfigMap {
	cm, err := env.Client.CoreV1().ConfigMaps(l.ns).Get(context.Background(), "settings", metav1.GetOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	return cm
}

func (l *loop) replicas() int32 {
	d, err := env.Client.AppsV1().Deployments(l.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// outOfBand is a change made to a managed object behind gitopsd's back.
type outOfBand struct {
	what, object string
	change       func(ctx context.Context, ns string) error
	check        func(Report) bool  // the report is right
	undone       func(l *loop) bool // Git's state is back
}

// outOfBandChanges are the changes every policy must see: an edit, a scale,
// the installation label removed and a delete, each made as kubectl makes
// it.
var outOfBandChanges = []outOfBand{
	{
		what: "edit", object: "settings",
		change: func(ctx context.Context, ns string) error {
			cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data["mode"] = "edited"
			_, err = env.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
			return err
		},
		check:  func(r Report) bool { return contains(r.Fields, "data.mode") && contains(r.Managers, "kubectl-edit") },
		undone: func(l *loop) bool { return l.configMap().Data["mode"] == "git" },
	},
	{
		what: "scale", object: "web",
		change: func(ctx context.Context, ns string) error {
			scale, err := env.Client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			scale.Spec.Replicas = 5
			_, err = env.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{FieldManager: "kubectl"})
			return err
		},
		check: func(r Report) bool {
			return contains(r.Fields, "spec.replicas") && len(r.Managers) > 0 && r.Managers[0] == "kubectl"
		},
		undone: func(l *loop) bool { return l.replicas() == 2 },
	},
	{
		what: "label removal", object: "settings",
		change: func(ctx context.Context, ns string) error {
			patch := `[{"op": "remove", "path": "/metadata/labels/gitopsd.io~1installation"}]`
			_, err := env.Client.CoreV1().ConfigMaps(ns).Patch(ctx, "settings", types.JSONPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-label"})
			return err
		},
		check: func(r Report) bool {
			return r.Deleted && contains(r.Fields, "metadata.labels."+apply.LabelInstallation)
		},
		undone: func(l *loop) bool { return l.configMap().Labels[apply.LabelInstallation] == l.req.Installation },
	},
	{
		what: "delete", object: "web",
		change: func(ctx context.Context, ns string) error {
			return env.Client.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{})
		},
		check: func(r Report) bool { return r.Deleted && r.Key.Kind == "Service" },
		undone: func(l *loop) bool {
			_, err := env.Client.CoreV1().Services(l.ns).Get(context.Background(), "web", metav1.GetOptions{})
			return err == nil
		},
	},
}

// make makes the change and returns its report, failing the test unless it
// came within a second of the change.
func (l *loop) make(c outOfBand) Report {
	l.t.Helper()
	n := len(l.reportsSoFar())
	start := time.Now()
	if err := c.change(context.Background(), l.ns); err != nil {
		l.t.Fatalf("%s: %v", c.what, err)
	}
	r := l.waitReport(c.object, n)
	latency := r.DetectedAt.Sub(start)
	l.t.Logf("%s reported after %s: %+v", c.what, latency.Round(time.Millisecond), r)
	if latency > time.Second {
		l.t.Errorf("%s reported after %s, want under a second", c.what, latency)
	}
	if !c.check(r) {
		l.t.Errorf("%s: wrong report %+v", c.what, r)
	}
	return r
}

func TestCorrectsOutOfBandChanges(t *testing.T) {
	ctx := context.Background()
	l := newLoop(t, true, apply.DefaultOptions(), configMap, service, deployment)
	for _, c := range outOfBandChanges {
		if r := l.make(c); r.Action != Corrected {
			t.Errorf("%s: %s, want corrected", c.what, r.Action)
		}
		waitFor(t, c.what+" undone", func() bool { return c.undone(l) })
	}

	// A field added by hand, which Git does not set.
	n := len(l.reportsSoFar())
	cms := env.Client.CoreV1().ConfigMaps(l.ns)
	cm, _ := cms.Get(ctx, "settings", metav1.GetOptions{})
	cm.Data["extra"] = "by-hand"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	r := l.waitReport("settings", n)
	if !contains(r.Fields, "data.extra") || !contains(r.Managers, "kubectl-edit") {
		t.Errorf("added field: %+v", r)
	}
	waitFor(t, "the added field to be removed", func() bool {
		_, ok := l.configMap().Data["extra"]
		return !ok
	})
}

func TestClosedWindowHoldsCorrection(t *testing.T) {
	l := newLoop(t, true, apply.DefaultOptions(), deployment)
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.kubectl("scale", "deployment/web", "--replicas=3")
	r := l.waitReport("web", 0)
	if r.Action != Held || r.Message != "sync window closed" {
		t.Errorf("drift while a window is closed: %+v, want held with the reason", r)
	}
	if got := l.replicas(); got != 3 {
		t.Errorf("replicas = %d: corrected while the window was closed", got)
	}
}

func TestReportOnlyLeavesTheChange(t *testing.T) {
	l := newLoop(t, false, apply.DefaultOptions(), configMap, service, deployment)
	for _, c := range outOfBandChanges {
		if r := l.make(c); r.Action != Reported {
			t.Errorf("%s: %s, want reported", c.what, r.Action)
		}
	}
	got := l.detector.Reports(l.req.Installation)
	if len(got) != 3 { // the label removal and the edit are of one object
		t.Errorf("Reports = %+v, want the Deployment, the Service and the ConfigMap", got)
	}
	for range 3 {
		l.apply() // the periodic reconcile must not correct them either
	}
	for _, c := range outOfBandChanges {
		if c.undone(l) {
			t.Errorf("%s was undone under drift: report", c.what)
		}
	}
}

func TestNothingReportedWhenNothingChanged(t *testing.T) {
	l := newLoop(t, true, apply.DefaultOptions(), service, deployment, secret, configMap)
	waitFor(t, "the watches to sync", func() bool { return l.synced() })
	l.requests.Reset()
	l.mu.Lock()
	l.checks = 0
	l.mu.Unlock()
	for range 100 {
		l.apply()
	}
	if r := l.reportsSoFar(); len(r) != 0 {
		t.Errorf("defaulted fields reported as drift: %+v", r)
	}
	if l.checks != 0 {
		t.Errorf("100 reconciles that changed nothing set off %d drift checks", l.checks)
	}
	if reads, writes := l.requests.Counts(); reads+writes != 0 {
		t.Errorf("the detector made %d requests while nothing changed: %v", reads+writes, l.requests.Log())
	}
}

func TestIgnoredFieldIsLeftAlone(t *testing.T) {
	opts := apply.DefaultOptions()
	opts.Ignore = []apply.IgnoreRule{{Group: "apps", Kind: "Deployment", Paths: []string{"/spec/replicas"}}}
	l := newLoop(t, true, opts, deployment, configMap)
	l.kubectl("scale", "deployment/web", "--replicas=7")
	// A change that is drift, after the scale, proves the scale was seen
	// and passed over.
	l.kubectl("annotate", "configmap/settings", "x=y")
	cm, _ := env.Client.CoreV1().ConfigMaps(l.ns).Get(context.Background(), "settings", metav1.GetOptions{})
	cm.Data["mode"] = "edited"
	if _, err := env.Client.CoreV1().ConfigMaps(l.ns).Update(context.Background(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	l.waitReport("settings", 0)
	for _, r := range l.reportsSoFar() {
		if r.Key.Kind == "Deployment" {
			t.Errorf("an ignored field was reported: %+v", r)
		}
	}
	if got := l.replicas(); got != 7 {
		t.Errorf("replicas = %d, want 7 left alone", got)
	}
}

// TestFightIsHeld runs a writer that resets a field whenever gitopsd puts
// it back; after a bounded number of corrections the object is held.
func TestFightIsHeld(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newLoop(t, true, apply.DefaultOptions(), configMap)
	cms := env.Client.CoreV1().ConfigMaps(l.ns)
	fighter := make(chan struct{})
	go func() {
		defer close(fighter)
		for ctx.Err() == nil {
			cm, err := cms.Get(ctx, "settings", metav1.GetOptions{})
			if err == nil && cm.Data["mode"] != "theirs" {
				cm.Data["mode"] = "theirs"
				_, _ = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "fighter"})
			}
			time.Sleep(20 * time.Millisecond) // the fighter's own pace
		}
	}()
	var held Report
	err := poll(20*time.Second, func() bool {
		for _, r := range l.reportsSoFar() {
			if r.Action == Held {
				held = r
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no fight detected; reports: %+v", l.reportsSoFar())
	}
	if !strings.Contains(held.Message, "fighter keeps changing it back") {
		t.Errorf("fight report %q does not name the other writer", held.Message)
	}
	corrections := 0
	for _, r := range l.reportsSoFar() {
		if r.Action == Corrected {
			corrections++
		}
	}
	if corrections > DefaultOptions().FightCorrections {
		t.Errorf("%d corrections before holding, want at most %d", corrections, DefaultOptions().FightCorrections)
	}
	if holds := l.detector.Holds(l.req.Installation); len(holds) != 1 {
		t.Errorf("holds = %v", holds)
	}
	// A reconcile now leaves the held object to the other writer.
	l.apply()
	cancel()
	<-fighter
	cm, _ := cms.Get(context.Background(), "settings", metav1.GetOptions{})
	if cm.Data["mode"] != "theirs" {
		t.Errorf("a held object was corrected anyway: %v", cm.Data)
	}
}

// synced reports whether every watch has its initial list.
func (l *loop) synced() bool {
	l.detector.mu.Lock()
	defer l.detector.mu.Unlock()
	for _, w := range l.detector.watches {
		if !w.informer.HasSynced() {
			return false
		}
	}
	return len(l.detector.watches) > 0
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	if err := poll(10*time.Second, ok); err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestNotARealChangeIsNoDrift makes changes the watch sees that are not
// drift. A label added by another manager leaves the fields gitopsd manages
// alone and is passed over without a request; kubectl applying the very
// values Git has shares gitopsd's fields, which the watch cannot tell from
// a change, so the dry run confirms: no drift.
func TestNotARealChangeIsNoDrift(t *testing.T) {
	ctx := context.Background()
	l := newLoop(t, true, apply.DefaultOptions(), configMap)
	waitFor(t, "the watches to sync", func() bool { return l.synced() })
	checks := func() int { l.mu.Lock(); defer l.mu.Unlock(); return l.checks }
	cms := env.Client.CoreV1().ConfigMaps(l.ns)

	patch := `{"metadata": {"labels": {"team": "web"}}}`
	if _, err := cms.Patch(ctx, "settings", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-label"}); err != nil {
		t.Fatal(err)
	}
	same := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "git"}}`
	if _, err := cms.Patch(ctx, "settings", types.ApplyPatchType, []byte(same), metav1.PatchOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dry run of kubectl's apply", func() bool { return checks() == 1 })
	// A real change afterwards: its check comes after the first has
	// reported, or not, so the reports say what the first found.
	cm := l.configMap()
	cm.Data["mode"] = "edited"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if r := l.waitReport("settings", 0); !contains(r.Fields, "data.mode") {
		t.Errorf("the real change: %+v", r)
	}
	if got := l.reportsSoFar(); len(got) != 1 {
		t.Errorf("reports %+v; want only the real change", got)
	}
}

// TestExpiredHoldIsCheckedAgain holds an object after a fight and, once the
// other writer has stopped and the hold ends, corrects it without anything
// else happening.
func TestExpiredHoldIsCheckedAgain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dopts := DefaultOptions()
	dopts.FightCorrections, dopts.FightBackoff = 2, 2*time.Second
	l := newLoopWith(t, true, apply.DefaultOptions(), dopts, configMap)
	cms := env.Client.CoreV1().ConfigMaps(l.ns)
	fighter := make(chan struct{})
	go func() {
		defer close(fighter)
		for ctx.Err() == nil {
			cm, err := cms.Get(ctx, "settings", metav1.GetOptions{})
			if err == nil && cm.Data["mode"] != "theirs" {
				cm.Data["mode"] = "theirs"
				_, _ = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "fighter"})
			}
			time.Sleep(20 * time.Millisecond) // the fighter's own pace
		}
	}()
	waitFor(t, "the fight to be held", func() bool {
		return slices.ContainsFunc(l.reportsSoFar(), func(r Report) bool { return r.Action == Held })
	})
	cancel()
	<-fighter
	if err := poll(10*time.Second, func() bool { return l.configMap().Data["mode"] == "git" }); err != nil {
		t.Fatalf("the held object was not corrected after the hold ended: %v", l.configMap().Data)
	}
}
