package bluegreen_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
)

var env *testenv.Env

// The cutovers run on a full plane: pods really become ready (or, with the
// test stages' labels, do not), EndpointSlices really follow the Services.
func TestMain(m *testing.M) { testenv.Main(m, testenv.Full, &env) }

// app is the blue/green installation the tests change commit by commit.
type app struct {
	Image    string // the version; default example/web:1
	Setting  string // the generated ConfigMap's value; default 1
	Replicas int    // default 2
	Unready  bool   // the pods never become ready
	JobFails bool   // the pre-cutover Job's pod fails
	HPA      bool   // an autoscaler scales the Deployment
	Timeout  string // the installation's timeout; default 30s
	Extra    string // more of the blueGreen block, e.g. "autoPromote: false"
	Windows  string // the installation's windows block
	Plain    bool   // no blueGreen block: a plain Deployment
}

// files renders the installation in namespace ns.
func (a app) files(ns string) map[string]string {
	a.Image, a.Setting, a.Timeout = or(a.Image, "example/web:1"), or(a.Setting, "1"), or(a.Timeout, "30s")
	if a.Replicas == 0 {
		a.Replicas = 2
	}
	podLabels := "app: web"
	if a.Unready {
		podLabels += ", " + testenv.LabelUnready + ": \"true\""
	}
	jobLabels := "{}"
	if a.JobFails {
		jobLabels = "{" + testenv.LabelFail + ": \"true\"}"
	}
	extra := ""
	for _, line := range strings.Split(strings.TrimSpace(a.Extra), "\n") {
		if line != "" {
			extra += "      " + line + "\n"
		}
	}
	replicas := fmt.Sprintf("  replicas: %d\n", a.Replicas)
	resources := "deployment.yaml, service.yaml, job.yaml"
	files := map[string]string{}
	if a.HPA {
		replicas = ""
		resources += ", hpa.yaml"
		files["app/hpa.yaml"] = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 5
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
`
	}
	block := "    blueGreen:\n      deployment: web\n      services: [web]\n      previewService: web-preview\n      preCutover: web-migrate\n" + extra
	if a.Plain {
		block = ""
	}
	files["gitopsd.yaml"] = fmt.Sprintf("installations:\n  - name: web\n    path: app\n    namespace: %s\n    timeout: %s\n%s%s", ns, a.Timeout, a.Windows, block)
	files["app/kustomization.yaml"] = fmt.Sprintf(`resources: [%s]
configMapGenerator:
  - name: web-settings
    literals: [setting=%s]
`, resources, a.Setting)
	files["app/deployment.yaml"] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
%s  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {%s}}
    spec:
      containers:
        - name: web
          image: %s
          envFrom: [{configMapRef: {name: web-settings}}]
`, replicas, podLabels, a.Image)
	files["app/service.yaml"] = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-preview}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`
	files["app/job.yaml"] = fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: web-migrate}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: %s}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: %s, args: [migrate]}]
`, jobLabels, a.Image)
	return files
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fleet is a Git repository on disk that a poller follows, and the GitHub
// repository its pull requests are merged on.
type fleet struct {
	t      *testing.T
	ns     string
	dir    string
	poller *source.Poller
	gh     *githubtest.Server
	prs    int
}

func newFleet(t *testing.T, ns string, first app) *fleet {
	t.Helper()
	f := &fleet{t: t, ns: ns, dir: filepath.Join(t.TempDir(), "fleet"), gh: githubtest.NewServer(githubtest.Options{})}
	t.Cleanup(f.gh.Close)
	f.write(first)
	f.git("init", "-q", "-b", "main")
	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir = f.dir, t.TempDir()
	var err error
	if f.poller, err = source.NewPoller(opts, slog.New(slog.DiscardHandler), nil); err != nil {
		t.Fatal(err)
	}
	f.commit("initial")
	f.poll()
	return f
}

func (f *fleet) git(args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = f.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// write replaces the installation's files with a's.
func (f *fleet) write(a app) {
	f.t.Helper()
	_ = os.RemoveAll(filepath.Join(f.dir, "app"))
	for name, data := range a.files(f.ns) {
		path := filepath.Join(f.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fleet) commit(msg string) string {
	f.t.Helper()
	f.git("add", "-A")
	f.git("commit", "-q", "--allow-empty", "-m", msg)
	return f.git("rev-parse", "HEAD")
}

func (f *fleet) poll() {
	f.t.Helper()
	if _, err := f.poller.Poll(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// merge commits a as a pull request merged on GitHub would: the commit is
// the pull request's merge commit. It returns the commit and the number.
func (f *fleet) merge(a app, msg string) (string, int) {
	f.t.Helper()
	base := f.git("rev-parse", "HEAD")
	f.write(a)
	sha := f.commit(msg)
	f.prs++
	pr, err := f.gh.OpenPR(githubtest.PR{Title: msg, HeadRef: fmt.Sprintf("change-%d", f.prs), HeadSHA: sha, BaseRef: "main", BaseSHA: base})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.gh.Merge(pr.GetNumber(), sha); err != nil {
		f.t.Fatal(err)
	}
	f.poll()
	return sha, pr.GetNumber()
}

// push commits a straight onto main, no pull request.
func (f *fleet) push(a app, msg string) string {
	f.t.Helper()
	f.write(a)
	sha := f.commit(msg)
	f.poll()
	return sha
}

// clock is a settable clock for scale-down delays and windows.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// daemon is a reconciler with drift detection and cutovers, its
// inventories and cutover states in the test's namespace.
type daemon struct {
	t     *testing.T
	ns    string
	r     *reconcile.Reconciler
	cut   *bluegreen.Cutover
	clock *clock
	logs  *daemontest.Buffer
	stop  func()
}

// setup tunes a daemon before it starts.
type setup struct {
	clock    *clock                   // default a clock at a fixed date
	reporter bluegreen.Reporter       // default none
	noGate   bool                     // no GitHub client: the gate finds nothing
	cutover  func(*bluegreen.Options) // tunes the cutover
	logs     *daemontest.Buffer       // default a new one
}

func startDaemon(t *testing.T, f *fleet, s setup) *daemon {
	t.Helper()
	if s.clock == nil {
		s.clock = &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	}
	if s.logs == nil {
		s.logs = &daemontest.Buffer{}
	}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	inventories := reconcile.NewWatchedInventories(inventory.NewStore(client, f.ns), meta, f.ns)
	manager, err := apply.NewManager(env.Config, inventories, log)
	if err != nil {
		t.Fatal(err)
	}
	detector, err := drift.NewDetector(drift.Deps{Metadata: meta, Mapper: manager, Checker: manager, Log: log}, drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var gate bluegreen.Gate
	if !s.noGate {
		gate = githubClient(t, f.gh)
	}
	copts := bluegreen.DefaultOptions()
	copts.Now, copts.Poll = s.clock.Now, 20*time.Millisecond
	if s.cutover != nil {
		s.cutover(&copts)
	}
	cut, err := bluegreen.New(bluegreen.Deps{Client: client, Store: bluegreen.NewStore(client, f.ns), Gate: gate, Reporter: s.reporter, Log: log}, copts)
	if err != nil {
		t.Fatal(err)
	}
	opts := reconcile.DefaultOptions()
	opts.Source, opts.Name, opts.Now = f.dir, "fleet", s.clock.Now
	opts.RetryBase, opts.MaxBackoff, opts.ShutdownGrace = 200*time.Millisecond, 2*time.Second, 5*time.Second
	r, err := reconcile.New(reconcile.Deps{
		Snapshots: f.poller, Renderer: render.NewRenderer(render.DefaultOptions(), nil), Applier: manager, Inventories: inventories,
		Drift: detector, Log: log, Cutovers: cut,
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	d := &daemon{t: t, ns: f.ns, r: r, cut: cut, clock: s.clock, logs: s.logs}
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Error("the reconciler did not stop")
			}
		})
	}
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", s.logs.String())
		}
	})
	return d
}

// githubClient is a client of the fake, as the daemon builds one.
func githubClient(t *testing.T, gh *githubtest.Server) *github.Client {
	t.Helper()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte(gh.Token()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := github.DefaultOptions()
	opts.APIURL, opts.Repository, opts.TokenFile = gh.URL, gh.Repository(), token
	opts.WriteSpacing, opts.MergeWait, opts.MergePoll = 0, 200*time.Millisecond, 50*time.Millisecond
	c, err := github.NewClient(opts, github.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// installation returns the status of installation web.
func (d *daemon) installation() reconcile.InstallationStatus {
	for _, in := range d.r.Status().Installations {
		if in.Name == "web" {
			return in
		}
	}
	return reconcile.InstallationStatus{}
}

// waitFor polls the status of web until ok, and fails the test with it
// after timeout.
func (d *daemon) waitFor(timeout time.Duration, what string, ok func(reconcile.InstallationStatus) bool) reconcile.InstallationStatus {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		in := d.installation()
		if ok(in) {
			return in
		}
		if time.Now().After(deadline) {
			js, _ := json.MarshalIndent(in, "", "  ")
			d.t.Fatalf("timed out after %s waiting for %s; status:\n%s", timeout, what, js)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// reconcile triggers a reconcile of web and waits until it has ended
// (it logs its outcome) with ok true; a condition already true before the
// trigger does not end the wait early.
func (d *daemon) reconcile(timeout time.Duration, what string, ok func(reconcile.InstallationStatus) bool) reconcile.InstallationStatus {
	d.t.Helper()
	before := d.outcomes()
	d.r.Trigger("web")
	return d.waitFor(timeout, what, func(in reconcile.InstallationStatus) bool { return d.outcomes() > before && ok(in) })
}

// outcomes counts the reconciles that ended, as the log says.
func (d *daemon) outcomes() int {
	logs := d.logs.String()
	return strings.Count(logs, "msg=reconciled ") + strings.Count(logs, "msg=\"reconcile failed\" ")
}

// step is true once the cutover of commit is at step.
func step(commit string, s bluegreen.Step) func(reconcile.InstallationStatus) bool {
	return func(in reconcile.InstallationStatus) bool {
		bg := in.BlueGreen
		return bg != nil && bg.Cutover != nil && bg.Cutover.Commit == commit && bg.Step == s
	}
}

// settled is true once the cutover of commit is at step and the reconcile
// that got it there has ended with web Ready.
func settled(commit string, s bluegreen.Step) func(reconcile.InstallationStatus) bool {
	return func(in reconcile.InstallationStatus) bool {
		return step(commit, s)(in) && in.Phase == reconcile.Ready
	}
}

// readyAt is true once web is Ready at commit.
func readyAt(commit string) func(reconcile.InstallationStatus) bool {
	return func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Ready && in.AppliedCommit == commit
	}
}

func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := env.Client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func image(d *appsv1.Deployment) string { return d.Spec.Template.Spec.Containers[0].Image }

func exists(t *testing.T, ns, kind, name string) bool {
	t.Helper()
	var err error
	ctx := context.Background()
	switch kind {
	case "Deployment":
		_, err = env.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	case "ConfigMap":
		_, err = env.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	case "Job":
		_, err = env.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	default:
		t.Fatalf("exists: kind %s", kind)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func selector(t *testing.T, ns, service string) string {
	t.Helper()
	s, err := env.Client.CoreV1().Services(ns).Get(context.Background(), service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Selector[bluegreen.LabelColour]
}

// endpoints lists the ready endpoints of service by pod name.
func endpoints(t *testing.T, ns, service string) []string {
	t.Helper()
	slices, err := env.Client.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		t.Fatal(err)
	}
	var pods []string
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if (e.Conditions.Ready == nil || *e.Conditions.Ready) && e.TargetRef != nil {
				pods = append(pods, e.TargetRef.Name)
			}
		}
	}
	return pods
}

// servedBy is true when service has n ready endpoints, every one a pod of
// deployment prefix (such as web-green).
func servedBy(t *testing.T, ns, service, prefix string, n int) bool {
	pods := endpoints(t, ns, service)
	if len(pods) != n {
		return false
	}
	for _, p := range pods {
		if !strings.HasPrefix(p, prefix+"-") {
			return false
		}
	}
	return true
}

// podsOf lists the pods of a Deployment by its colour label.
func podsOf(t *testing.T, ns string, c bluegreen.Colour) []corev1.Pod {
	t.Helper()
	pods, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: bluegreen.LabelColour + "=" + string(c)})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}
