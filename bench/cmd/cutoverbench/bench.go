package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
)

// namespace holds the installation and its inventory and cutover state.
const namespace = "cutoverbench"

// bench is a fleet of one blue/green installation in a Git repository on
// disk, followed by an in-process reconciler with cutovers, as `gitopsd
// run` wires them.
type bench struct {
	env      *testenv.Env
	client   kubernetes.Interface
	dir      string
	opts     Options
	poller   *source.Poller
	r        *reconcile.Reconciler
	progress io.Writer
	stop     func()
}

func newBench(ctx context.Context, env *testenv.Env, workDir string, opts Options, progress io.Writer) (*bench, error) {
	b := &bench{env: env, client: env.Client, dir: filepath.Join(workDir, "fleet"), opts: opts, progress: progress}
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if err := b.write(1); err != nil {
		return nil, err
	}
	if err := b.git("init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	if err := b.commit("version 1"); err != nil {
		return nil, err
	}
	sopts := source.DefaultOptions()
	sopts.URL, sopts.CacheDir = b.dir, filepath.Join(workDir, "cache")
	log := slog.New(slog.DiscardHandler)
	var err error
	if b.poller, err = source.NewPoller(sopts, log, nil); err != nil {
		return nil, err
	}
	if _, err := b.poller.Poll(ctx); err != nil {
		return nil, err
	}
	if b.r, err = newReconciler(env, b.poller, log); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { _ = b.r.Run(runCtx); close(done) }()
	b.stop = func() { cancel(); <-done }
	return b, nil
}

// newReconciler wires a reconciler with drift detection and cutovers as
// the daemon does, without GitHub: the installation does not require a
// merged pull request.
func newReconciler(env *testenv.Env, poller *source.Poller, log *slog.Logger) (*reconcile.Reconciler, error) {
	client := env.Client
	meta, err := metadata.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	inventories := reconcile.NewWatchedInventories(inventory.NewStore(client, namespace), meta, namespace)
	manager, err := apply.NewManager(env.Config, inventories, log)
	if err != nil {
		return nil, err
	}
	detector, err := drift.NewDetector(drift.Deps{Metadata: meta, Mapper: manager, Checker: manager, Log: log}, drift.DefaultOptions())
	if err != nil {
		return nil, err
	}
	cut, err := bluegreen.New(bluegreen.Deps{Client: client, Store: bluegreen.NewStore(client, namespace), Log: log}, bluegreen.DefaultOptions())
	if err != nil {
		return nil, err
	}
	opts := reconcile.DefaultOptions()
	opts.Source, opts.Name = poller.Identity(), "fleet"
	return reconcile.New(reconcile.Deps{
		Snapshots: poller, Renderer: render.NewRenderer(render.DefaultOptions(), log), Applier: manager, Inventories: inventories,
		Drift: detector, Log: log, Cutovers: cut,
	}, opts)
}

// write makes the fleet run version v of the installation.
func (b *bench) write(v int) error {
	var services strings.Builder
	var names []string
	for i := range b.opts.Services {
		name := fmt.Sprintf("web-%d", i)
		names = append(names, name)
		fmt.Fprintf(&services, "---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n", name)
	}
	files := map[string]string{
		"gitopsd.yaml": fmt.Sprintf("installations:\n  - name: web\n    path: app\n    namespace: %s\n    timeout: 2m\n"+
			"    blueGreen:\n      deployment: web\n      services: [%s]\n      requireMergedPR: false\n", namespace, strings.Join(names, ", ")),
		"app/kustomization.yaml": "resources: [deployment.yaml, services.yaml]\n",
		"app/deployment.yaml": fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: %d\n"+
			"  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: \"example/web:%d\"}]\n", b.opts.Replicas, v),
		"app/services.yaml": services.String(),
	}
	for name, data := range files {
		path := filepath.Join(b.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) services() []string {
	var out []string
	for i := range b.opts.Services {
		out = append(out, fmt.Sprintf("web-%d", i))
	}
	return out
}

func (b *bench) commit(msg string) error {
	if err := b.git("add", "-A"); err != nil {
		return err
	}
	return b.git("commit", "-q", "-m", msg)
}

func (b *bench) git(args ...string) error {
	cmd := exec.Command("git", append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.com"}, args...)...)
	cmd.Dir = b.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Round is what one cutover and its rollback measured.
type Round struct {
	// Switch is from the idle colour fully available to every Service
	// selecting it.
	Switch time.Duration
	// Rollback is from the rollback asked to every Service selecting the
	// old colour; Traffic to every Service's EndpointSlices listing only
	// the old colour's ready pods.
	Rollback, Traffic time.Duration
}

// measure waits for the first apply, then cuts over and rolls back
// Rounds times.
func (b *bench) measure(ctx context.Context) ([]Round, error) {
	fmt.Fprintln(b.progress, "cutoverbench: first apply (blue)")
	if _, err := b.watchSelectors(ctx, bluegreen.Blue, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("first apply: %w", err)
	}
	var rounds []Round
	for i := range b.opts.Rounds {
		round, err := b.round(ctx, i+2)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", i+1, err)
		}
		fmt.Fprintf(b.progress, "cutoverbench: round %d: switch %s, rollback %s (traffic %s)\n", i+1,
			round.Switch.Round(time.Millisecond), round.Rollback.Round(time.Millisecond), round.Traffic.Round(time.Millisecond))
		rounds = append(rounds, round)
	}
	return rounds, nil
}

// round commits version v (a new image), times its cutover to green, then
// times gitopsd rollback to blue.
func (b *bench) round(ctx context.Context, v int) (Round, error) {
	var r Round
	if err := b.write(v); err != nil {
		return r, err
	}
	if err := b.commit(fmt.Sprintf("version %d", v)); err != nil {
		return r, err
	}
	available := make(chan result, 1)
	go func() {
		at, err := b.watchAvailable(ctx, fmt.Sprintf("example/web:%d", v))
		available <- result{at, err}
	}()
	if _, err := b.poller.Poll(ctx); err != nil {
		return r, err
	}
	switched, err := b.watchSelectors(ctx, bluegreen.Green, 3*time.Minute)
	if err != nil {
		return r, fmt.Errorf("switch: %w", err)
	}
	av := <-available
	if av.err != nil {
		return r, fmt.Errorf("green available: %w", av.err)
	}
	r.Switch = switched.Sub(av.at)

	start := time.Now()
	traffic := make(chan result, 1)
	go func() {
		at, err := b.watchEndpoints(ctx, "web-blue-")
		traffic <- result{at, err}
	}()
	rolled := make(chan error, 1)
	go func() {
		_, err := b.r.Rollback(ctx, "web")
		rolled <- err
	}()
	back, err := b.watchSelectors(ctx, bluegreen.Blue, time.Minute)
	if err != nil {
		return r, fmt.Errorf("rollback: %w", err)
	}
	if err := <-rolled; err != nil {
		return r, fmt.Errorf("rollback: %w", err)
	}
	tr := <-traffic
	if tr.err != nil {
		return r, fmt.Errorf("traffic on blue: %w", tr.err)
	}
	r.Rollback, r.Traffic = back.Sub(start), tr.at.Sub(start)
	return r, nil
}

type result struct {
	at  time.Time
	err error
}

// watchUntil lists and watches the objects of list/watch until done says
// so of the objects seen, and returns when.
func watchUntil[T runtime.Object](ctx context.Context, timeout time.Duration, what string,
	list func(context.Context, metav1.ListOptions) ([]T, string, error),
	watch func(context.Context, metav1.ListOptions) (apiwatch.Interface, error),
	key func(T) string, done func(map[string]T) bool,
) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	items, rv, err := list(ctx, metav1.ListOptions{})
	if err != nil {
		return time.Time{}, err
	}
	seen := map[string]T{}
	for _, it := range items {
		seen[key(it)] = it
	}
	if done(seen) {
		return time.Now(), nil
	}
	w, err := watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	if err != nil {
		return time.Time{}, err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("timed out waiting for %s", what)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return time.Time{}, fmt.Errorf("watch of %s ended", what)
			}
			at := time.Now()
			obj, ok := ev.Object.(T)
			if !ok {
				continue
			}
			if ev.Type == apiwatch.Deleted {
				delete(seen, key(obj))
			} else {
				seen[key(obj)] = obj
			}
			if done(seen) {
				return at, nil
			}
		}
	}
}

// watchAvailable returns when web-green is fully available with image.
func (b *bench) watchAvailable(ctx context.Context, image string) (time.Time, error) {
	deployments := b.client.AppsV1().Deployments(namespace)
	return watchUntil(ctx, 3*time.Minute, "web-green to be available",
		func(ctx context.Context, o metav1.ListOptions) ([]*appsv1.Deployment, string, error) {
			l, err := deployments.List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			var out []*appsv1.Deployment
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			return out, l.ResourceVersion, nil
		}, deployments.Watch,
		func(d *appsv1.Deployment) string { return d.Name },
		func(seen map[string]*appsv1.Deployment) bool {
			d := seen["web-green"]
			if d == nil || d.Spec.Template.Spec.Containers[0].Image != image || d.Spec.Replicas == nil {
				return false
			}
			want, s := *d.Spec.Replicas, d.Status
			return want > 0 && s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want &&
				s.ReadyReplicas == want && s.AvailableReplicas == want && s.Replicas == want
		})
}

// watchSelectors returns when every Service selects colour c.
func (b *bench) watchSelectors(ctx context.Context, c bluegreen.Colour, timeout time.Duration) (time.Time, error) {
	services := b.client.CoreV1().Services(namespace)
	names := b.services()
	return watchUntil(ctx, timeout, fmt.Sprintf("every Service to select %s", c),
		func(ctx context.Context, o metav1.ListOptions) ([]*corev1.Service, string, error) {
			l, err := services.List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			var out []*corev1.Service
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			return out, l.ResourceVersion, nil
		}, services.Watch,
		func(s *corev1.Service) string { return s.Name },
		func(seen map[string]*corev1.Service) bool {
			for _, n := range names {
				if s := seen[n]; s == nil || s.Spec.Selector[bluegreen.LabelColour] != string(c) {
					return false
				}
			}
			return true
		})
}

// watchEndpoints returns when the EndpointSlices of every Service list
// only ready pods named with prefix, Replicas of them.
func (b *bench) watchEndpoints(ctx context.Context, prefix string) (time.Time, error) {
	slices := b.client.DiscoveryV1().EndpointSlices(namespace)
	names := b.services()
	return watchUntil(ctx, time.Minute, "the EndpointSlices to list only "+prefix+"* pods",
		func(ctx context.Context, o metav1.ListOptions) ([]*discoveryv1.EndpointSlice, string, error) {
			l, err := slices.List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			var out []*discoveryv1.EndpointSlice
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			return out, l.ResourceVersion, nil
		}, slices.Watch,
		func(s *discoveryv1.EndpointSlice) string { return s.Name },
		func(seen map[string]*discoveryv1.EndpointSlice) bool {
			ready := map[string]int{}
			for _, s := range seen {
				service := s.Labels[discoveryv1.LabelServiceName]
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && !*e.Conditions.Ready {
						continue
					}
					if e.TargetRef == nil || !strings.HasPrefix(e.TargetRef.Name, prefix) {
						return false
					}
					ready[service]++
				}
			}
			for _, n := range names {
				if ready[n] != b.opts.Replicas {
					return false
				}
			}
			return true
		})
}
