package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Engine is one way of applying a Set to the cluster.
type Engine interface {
	Name() string
	// Prepare turns a set into what the engine takes in (an ObjectSet,
	// copies of the objects, YAML files) outside the measured time, and
	// returns the measured apply.
	Prepare(s *objects.Set) (func(context.Context) (Outcome, error), error)
	// Requests logs the API requests the engine sent.
	Requests() RequestLog
}

// Outcome is what an engine says it did, for the checks.
type Outcome struct {
	// Known is false for an engine that does not say.
	Known                          bool
	Created, Configured, Unchanged int
}

// RequestLog lists requests as "METHOD path?query"; *testenv.Requests and
// *CountingProxy implement it.
type RequestLog interface {
	Reset()
	Log() []string
}

var (
	_ RequestLog = (*testenv.Requests)(nil)
	_ RequestLog = (*CountingProxy)(nil)
)

// Gitopsd applies with apply.Manager, as the daemon does: one Manager for
// the whole run, its inventory in the cluster, requests counted at the
// client. The Manager turns client-side rate limiting off itself.
type Gitopsd struct {
	manager  *apply.Manager
	requests *testenv.Requests
	opts     apply.Options
}

// NewGitopsd returns the gitopsd engine for cfg; concurrency 0 keeps the
// default.
func NewGitopsd(cfg *rest.Config, concurrency int) (*Gitopsd, error) {
	cfg, requests := testenv.CountRequests(cfg)
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	store := inventory.NewStore(clientset, inventory.DefaultNamespace)
	manager, err := apply.NewManager(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	opts := apply.DefaultOptions()
	if concurrency > 0 {
		opts.Concurrency = concurrency
	}
	return &Gitopsd{manager: manager, requests: requests, opts: opts}, nil
}

func (g *Gitopsd) Name() string         { return "gitopsd" }
func (g *Gitopsd) Requests() RequestLog { return g.requests }

// Prepare builds the ObjectSet a render would; in the daemon a render of an
// unchanged commit is a cache hit, so it is left out of the measured time.
func (g *Gitopsd) Prepare(s *objects.Set) (func(context.Context) (Outcome, error), error) {
	objs := make([]render.Object, len(s.Objects))
	for i, o := range s.Objects {
		objs[i] = render.Object{Unstructured: o.DeepCopy()}
	}
	set, err := render.NewObjectSet(objs)
	if err != nil {
		return nil, err
	}
	// The same objects stand for the same commit: a no-op apply is the
	// periodic re-sync of a commit already applied.
	req := apply.Request{Installation: s.Prefix, Commit: set.Digest[:12], Objects: set}
	return func(ctx context.Context) (Outcome, error) {
		cs, err := g.manager.Apply(ctx, req, g.opts)
		if err != nil {
			return Outcome{}, err
		}
		if err := cs.Err(); err != nil {
			return Outcome{}, fmt.Errorf("%s: %w", cs.Summary(), err)
		}
		counts := cs.Counts()
		return Outcome{Known: true, Created: counts[apply.Created], Configured: counts[apply.Configured], Unchanged: counts[apply.Unchanged]}, nil
	}, nil
}

// Flux settings: kustomize-controller's field manager and owner labels,
// and its default of 4 concurrent server-side applies (--concurrent-ssa).
// The client is not rate limited in practice: QPS 500, burst 1000 (the
// controller's defaults are 50 and 100).
const (
	fluxQPS         = 500
	fluxBurst       = 1000
	fluxConcurrency = 4
)

// Flux applies with fluxcd/pkg/ssa's ResourceManager.ApplyAllStaged, the
// engine of kustomize-controller, through a controller-runtime client.
type Flux struct {
	manager  *ssa.ResourceManager
	requests *testenv.Requests
}

// NewFlux returns the Flux engine for cfg.
func NewFlux(cfg *rest.Config) (*Flux, error) {
	cfg, requests := testenv.CountRequests(cfg)
	cfg.QPS, cfg.Burst = fluxQPS, fluxBurst
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, err
	}
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	manager := ssa.NewResourceManager(c, poller, ssa.Owner{Field: "kustomize-controller", Group: "kustomize.toolkit.fluxcd.io"})
	manager.SetConcurrency(fluxConcurrency)
	return &Flux{manager: manager, requests: requests}, nil
}

func (f *Flux) Name() string         { return "flux" }
func (f *Flux) Requests() RequestLog { return f.requests }

// Prepare copies the objects and labels them with their owner, as
// kustomize-controller does after its build.
func (f *Flux) Prepare(s *objects.Set) (func(context.Context) (Outcome, error), error) {
	objs := make([]*unstructured.Unstructured, len(s.Objects))
	for i, o := range s.Objects {
		objs[i] = o.DeepCopy()
	}
	f.manager.SetOwnerLabels(objs, s.Prefix, "flux-system")
	return func(ctx context.Context) (Outcome, error) {
		cs, err := f.manager.ApplyAllStaged(ctx, objs, ssa.DefaultApplyOptions())
		if err != nil {
			return Outcome{}, err
		}
		out := Outcome{Known: true}
		for _, e := range cs.Entries {
			switch e.Action {
			case ssa.CreatedAction:
				out.Created++
			case ssa.ConfiguredAction:
				out.Configured++
			case ssa.UnchangedAction:
				out.Unchanged++
			}
		}
		return out, nil
	}, nil
}

// Kubectl runs `kubectl apply --server-side` on a directory of YAML files
// with kubectl's default client settings, through a CountingProxy.
type Kubectl struct {
	bin        string
	kubeconfig string
	cacheDir   string
	workDir    string
	proxy      *CountingProxy
}

// NewKubectl returns the kubectl engine running bin against the proxy,
// keeping its discovery cache and manifests under workDir.
func NewKubectl(bin string, proxy *CountingProxy, workDir string) (*Kubectl, error) {
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	kubeconfig, err := proxy.WriteKubeconfig(filepath.Join(workDir, "kubeconfig"))
	if err != nil {
		return nil, err
	}
	return &Kubectl{bin: bin, kubeconfig: kubeconfig, cacheDir: filepath.Join(workDir, "cache"), workDir: workDir, proxy: proxy}, nil
}

func (k *Kubectl) Name() string         { return "kubectl" }
func (k *Kubectl) Requests() RequestLog { return k.proxy }

// Prepare writes the set's YAML files; parsing them is kubectl's own work
// and is measured.
func (k *Kubectl) Prepare(s *objects.Set) (func(context.Context) (Outcome, error), error) {
	dir := filepath.Join(k.workDir, "manifests", s.Prefix)
	if err := s.WriteDir(dir); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (Outcome, error) {
		return Outcome{}, k.run(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=kubectl-bench", "-f", dir)
	}, nil
}

func (k *Kubectl) run(ctx context.Context, args ...string) error {
	args = append([]string{"--kubeconfig=" + k.kubeconfig, "--cache-dir=" + k.cacheDir}, args...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", args[2], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Limit settings: requests in flight, and the field manager.
const (
	limitConcurrency = 32
	limitManager     = "limit-bench"
)

// Limit is the physical limit of an apply: one server-side apply patch per
// object and nothing else (no reads, no inventory, no health wait),
// limitConcurrency at a time, Namespaces first so that the objects in them
// can be created, with no client-side rate limit. The patches are encoded
// before the clock starts, and answers are not decoded.
type Limit struct {
	client   rest.Interface
	requests *testenv.Requests
}

// NewLimit returns the limit engine for cfg.
func NewLimit(cfg *rest.Config) (*Limit, error) {
	cfg, requests := testenv.CountRequests(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Limit{client: clientset.CoreV1().RESTClient(), requests: requests}, nil
}

func (l *Limit) Name() string         { return "limit" }
func (l *Limit) Requests() RequestLog { return l.requests }

// patch is one object's apply request, ready to send.
type patch struct {
	path string
	body []byte
}

// Prepare encodes one patch per object: the Namespaces' stage, then the
// rest.
func (l *Limit) Prepare(s *objects.Set) (func(context.Context) (Outcome, error), error) {
	var stages [2][]patch
	for _, o := range s.Objects {
		gvr, ok := objects.Resources[o.GetKind()]
		if !ok {
			return nil, fmt.Errorf("%s %s: no resource known for the kind", o.GetKind(), o.GetName())
		}
		body, err := json.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		stage := 1
		if o.GetKind() == "Namespace" {
			stage = 0
		}
		stages[stage] = append(stages[stage], patch{path: objectPath(gvr, o.GetNamespace(), o.GetName()), body: body})
	}
	return func(ctx context.Context) (Outcome, error) {
		for _, stage := range stages {
			if err := l.send(ctx, stage); err != nil {
				return Outcome{}, err
			}
		}
		return Outcome{}, nil
	}, nil
}

// send sends patches, limitConcurrency at a time, and stops at the first
// error.
func (l *Limit) send(ctx context.Context, patches []patch) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(limitConcurrency)
	for _, p := range patches {
		g.Go(func() error {
			err := l.client.Patch(types.ApplyPatchType).AbsPath(p.path).
				Param("fieldManager", limitManager).Param("force", "true").
				Body(p.body).Do(ctx).Error()
			if err != nil {
				return fmt.Errorf("apply %s: %w", p.path, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// objectPath is the API path of an object of resource gvr.
func objectPath(gvr schema.GroupVersionResource, namespace, name string) string {
	p := "/api/" + gvr.Version
	if gvr.Group != "" {
		p = "/apis/" + gvr.Group + "/" + gvr.Version
	}
	if namespace != "" {
		p += "/namespaces/" + namespace
	}
	return p + "/" + gvr.Resource + "/" + name
}
