package reconcile

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestUnwatchedKindIsInStatus deletes the definition of a kind an
// installation owns: its drift can no longer be watched, and the status
// says so with the cause instead of leaving the kind silently unwatched.
func TestUnwatchedKindIsInStatus(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	group := ns + ".example.com"
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets." + group},
		"spec": map[string]any{
			"group": group, "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dyn.Resource(crds).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{}) })
	established := poll(30*time.Second, func() bool {
		got, err := dyn.Resource(crds).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return false
		}
		conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conditions {
			if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
				return true
			}
		}
		return false
	})
	if !established {
		t.Fatal("the CustomResourceDefinition was not established")
	}
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   cm("a", "1"),
		"app/w.yaml":   "apiVersion: " + group + "/v1\nkind: Widget\nmetadata: {name: w, namespace: NS}\nspec: {size: 1}\n",
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(30*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))

	if err := dyn.Resource(crds).Delete(ctx, crd.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !poll(30*time.Second, func() bool {
		_, err := dyn.Resource(crds).Get(ctx, crd.GetName(), metav1.GetOptions{})
		return err != nil
	}) {
		t.Fatal("the CustomResourceDefinition was not deleted")
	}
	rp.write("app/a.yaml", cm("a", "2"))
	rp.commit("a reconcile after the kind went away")
	s := d.waitFor(30*time.Second, "the unwatched kind in the status", func(s Status) bool {
		return len(s.Installations) == 1 && len(s.Installations[0].DriftProblems) > 0
	})
	// Discovery may still know the kind (then its watch fails) or not (then
	// it is not watched); either way the status names it and why.
	p := s.Installations[0].DriftProblems[0]
	named := strings.Contains(p, "Widget."+group+" not watched for drift: ") || strings.Contains(p, "watch of widgets."+group+" failing since ")
	if !named || !strings.Contains(p, "the server could not find the requested resource") && !strings.Contains(p, "does not serve") {
		t.Errorf("drift problem %q does not name the kind and the cause", p)
	}
}

// stoppingDetector is a drift detector whose Run ends at once with an
// error, as a detector that cannot start.
type stoppingDetector struct{ Drift }

func (stoppingDetector) Run(context.Context, drift.Corrector) error {
	return errors.New("no watch can be started")
}

// TestDriftStoppingIsInStatus: a detector that stops says so in the status.
func TestDriftStoppingIsInStatus(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   cm("a", "1"),
	})
	d := startDaemon(t, ns, rp, setup{detector: func(d Drift) Drift { return stoppingDetector{d} }})
	s := d.waitFor(10*time.Second, "the drift error", func(s Status) bool { return s.DriftError != "" })
	if !strings.Contains(s.DriftError, "no watch can be started") {
		t.Errorf("drift error %q does not say why", s.DriftError)
	}
}

// failingLoads is an inventory store whose first load fails.
type failingLoads struct {
	Store
	once sync.Once
}

func (f *failingLoads) Load(ctx context.Context, installation string) (*inventory.Inventory, error) {
	var err error
	f.once.Do(func() { err = errors.New("the API server is overloaded") })
	if err != nil {
		return nil, err
	}
	return f.Store.Load(ctx, installation)
}

// TestInventoryReadErrorIsRetried fails the first read of an inventory, the
// one that tells a starting worker what was applied before: the failure is
// in the status, and it is retried.
func TestInventoryReadErrorIsRetried(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   cm("a", "1"),
	})
	d := startDaemon(t, ns, rp, setup{store: func(s Store) Store { return &failingLoads{Store: s} }})
	d.waitFor(10*time.Second, "the apply after the failed read", readyAt(rp.git("rev-parse", "HEAD")))
	failed := d.events.with("ApplyFailed")
	if len(failed) != 1 || !strings.Contains(failed[0].message, "read what installation app applied before: the API server is overloaded") {
		t.Errorf("the failed read is not reported: %+v", failed)
	}
}
