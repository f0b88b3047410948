package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/source"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// TestDefaultedFieldsNeverCauseReapplies applies objects whose live copies
// the API server and controllers fill in, then reconciles them again and
// again: nothing may be sent after the first apply.
func TestDefaultedFieldsNeverCauseReapplies(t *testing.T) {
	f := newFixture(t)
	aggregated := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NS-aggregate}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {NS/aggregate: "true"}}]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NS-part, labels: {NS/aggregate: "true"}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`
	set := f.objects(service, secret, deployment, aggregated)
	if err := f.apply(set, DefaultOptions()).Err(); err != nil {
		t.Fatal(err)
	}
	// Let the aggregation controller fill in the rules.
	err := poll(context.Background(), 10e9, func() (bool, error) {
		cr, err := f.dynamic.Resource(clusterRoles).Get(context.Background(), f.ns+"-aggregate", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		rules, _ := cr.Object["rules"].([]any)
		return len(rules) == 1, nil
	})
	if err != nil {
		t.Fatalf("aggregated rules never appeared: %v", err)
	}
	f.requests.Reset()
	for range 100 {
		f.apply(set, DefaultOptions())
	}
	if _, writes := f.requests.Counts(); writes != 0 {
		t.Errorf("100 reconciles of unchanged objects wrote %d times: %v", writes, f.requests.Log()[:min(10, len(f.requests.Log()))])
	}
}

// TestIgnoredReplicasAreNotFoughtOver scales a Deployment as an autoscaler
// would; with /spec/replicas ignored, gitopsd neither resets nor re-applies it.
func TestIgnoredReplicasAreNotFoughtOver(t *testing.T) {
	f := newFixture(t)
	opts := DefaultOptions()
	opts.Ignore = []IgnoreRule{{Group: "apps", Kind: "Deployment", Paths: []string{"/spec/replicas"}}}
	set := f.objects(deployment)
	f.apply(set, opts)
	scale := `{"spec":{"replicas":5}}`
	_, err := f.dynamic.Resource(deployments).Namespace(f.ns).Patch(context.Background(), "web", types.MergePatchType, []byte(scale),
		metav1.PatchOptions{FieldManager: "horizontal-pod-autoscaler"}, "scale")
	if err != nil {
		t.Fatal(err)
	}
	f.requests.Reset()
	cs := f.apply(set, opts)
	if _, writes := f.requests.Counts(); writes != 0 || cs.Counts()[Unchanged] != 1 {
		t.Errorf("after an autoscaler scaled: %v, %d writes", actions(cs), writes)
	}
	d, _ := f.get(deployments, f.ns, "web")
	if replicas, _, _ := unstructuredInt(d.Object, "spec", "replicas"); replicas != 5 {
		t.Errorf("replicas = %d, want the autoscaler's 5", replicas)
	}

	// Without the rule, scaling by hand is drift and Git's 2 comes back.
	cs = f.apply(set, DefaultOptions())
	d, _ = f.get(deployments, f.ns, "web")
	if replicas, _, _ := unstructuredInt(d.Object, "spec", "replicas"); replicas != 2 || actions(cs)["Deployment/web"] != Configured {
		t.Errorf("without an ignore rule: replicas = %d, action %s", replicas, actions(cs)["Deployment/web"])
	}
}

// failingSaves fails every Save after the first n.
type failingSaves struct {
	*inventory.Store
	n int
}

func (s *failingSaves) Save(ctx context.Context, inv *inventory.Inventory) error {
	if s.n == 0 {
		return errors.New("crash")
	}
	s.n--
	return s.Store.Save(ctx, inv)
}

// TestCrashBeforeFinalInventoryLeavesNothingUnowned applies a new object and
// "crashes" before the final inventory is written; the object must still be
// pruned once it leaves Git.
func TestCrashBeforeFinalInventoryLeavesNothingUnowned(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects(configMap("old", "a: b")), DefaultOptions())
	// The pending save succeeds, the final one fails.
	crashing, err := NewManager(env.Config, &failingSaves{Store: f.store, n: 1}, f.manager.log)
	if err != nil {
		t.Fatal(err)
	}
	_, err = crashing.Apply(context.Background(), Request{Installation: "app", Namespace: f.ns, Objects: f.objects(configMap("old", "a: b"), configMap("new", "a: b"))}, DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "crash") {
		t.Fatalf("apply with a failing final save: %v", err)
	}
	if _, err := f.get(configMaps, f.ns, "new"); err != nil {
		t.Fatalf("the new object was not applied: %v", err)
	}
	cs := f.apply(f.objects(configMap("old", "a: b")), DefaultOptions())
	if actions(cs)["ConfigMap/new"] != Deleted {
		t.Errorf("an object applied before the crash was not pruned: %v", cs.Changes)
	}
}

// TestFailedDeleteStaysOwned prunes through a client that may not delete;
// the object stays in the inventory and is pruned once deletion works.
func TestFailedDeleteStaysOwned(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects(configMap("a", "k: v"), configMap("b", "k: v")), DefaultOptions())
	f.denyDeletes()
	cs := f.apply(f.objects(configMap("a", "k: v")), DefaultOptions())
	if actions(cs)["ConfigMap/b"] != Failed {
		t.Fatalf("a forbidden delete: %v", cs.Changes)
	}
	inv, _ := f.store.Load(context.Background(), "app")
	if _, owned := inv.Index()[cs.Changes[1].Key]; !owned {
		t.Errorf("an object whose delete failed left the inventory: %v", inv.Entries)
	}
	f.allowDeletes()
	if cs := f.apply(f.objects(configMap("a", "k: v")), DefaultOptions()); actions(cs)["ConfigMap/b"] != Deleted {
		t.Errorf("retry: %v", cs.Changes)
	}
}

// TestAnotherSourcesInstallationIsRefused applies one installation name
// from two daemons' sources: the second is refused, and a command-line apply
// (no source) keeps the owner.
func TestAnotherSourcesInstallationIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	set := f.objects(configMap("a", "k: v"))
	req := Request{Installation: "app", Namespace: f.ns, Source: "https://example.com/fleet.git@main", Objects: set}
	if _, err := f.manager.Apply(ctx, req, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	other := req
	other.Source, other.Objects = "https://example.com/other.git@main", f.objects(configMap("b", "k: v"))
	_, err := f.manager.Apply(ctx, other, DefaultOptions())
	var owned *OwnershipError
	if !errors.As(err, &owned) || !strings.Contains(err.Error(), "belongs to the gitopsd following //example.com/fleet@refs/heads/main") {
		t.Fatalf("a second source: %v", err)
	}
	if _, err := f.get(configMaps, f.ns, "a"); err != nil {
		t.Errorf("the refused apply pruned the owner's object: %v", err)
	}
	cli := req
	cli.Source = ""
	if _, err := f.manager.Apply(ctx, cli, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if inv, _ := f.store.Load(ctx, "app"); inv.Source != "//example.com/fleet@refs/heads/main" {
		t.Errorf("a command-line apply changed the owner to %q", inv.Source)
	}
}

// TestOneSourceSpelledTwoWaysOwnsItsInstallation takes over, with the ssh
// spelling of a repository and the full name of its branch, an inventory
// an earlier version recorded with the raw https flags: it is the same
// source, so it applies, and the inventory records the normalised identity.
func TestOneSourceSpelledTwoWaysOwnsItsInstallation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.Save(ctx, &inventory.Inventory{Installation: "app", Source: "https://GitHub.com/example/fleet.git@main"}); err != nil {
		t.Fatal(err)
	}
	id, err := source.Identity("git@github.com:example/fleet", "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Installation: "app", Namespace: f.ns, Source: id, Objects: f.objects(configMap("a", "k: v"))}
	cs, err := f.manager.Apply(ctx, req, DefaultOptions())
	if err != nil || cs.Err() != nil {
		t.Fatalf("the same source spelled another way: %v, %v", err, cs.Err())
	}
	if inv, _ := f.store.Load(ctx, "app"); inv.Source != "//github.com/example/fleet@refs/heads/main" {
		t.Errorf("the inventory records %q, want the normalised identity", inv.Source)
	}
	f.requests.Reset()
	if _, err := f.manager.Apply(ctx, req, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if _, writes := f.requests.Counts(); writes != 0 {
		t.Errorf("a no-op apply after the identity was recorded wrote %d times: %v", writes, f.requests.Log())
	}
}

// TestPruneKeepsADefinitionWithForeignResources removes a CRD and its
// custom resource from Git while someone else's resource of that kind
// exists: gitopsd prunes its own resource but not the definition, until the
// other resource is gone.
func TestPruneKeepsADefinitionWithForeignResources(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	group := f.ns + ".example.com"
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.` + group + `}
spec:
  group: ` + group + `
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`
	gadget := "apiVersion: " + group + "/v1\nkind: Gadget\nmetadata: {name: ours}\n"
	f.apply(f.objects(crd, gadget, configMap("keep", "a: b")), DefaultOptions())
	gadgets := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "gadgets"}
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1", "kind": "Gadget", "metadata": map[string]any{"name": "theirs", "namespace": f.ns},
	}}
	if _, err := f.dynamic.Resource(gadgets).Namespace(f.ns).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cs := f.apply(f.objects(configMap("keep", "a: b")), DefaultOptions())
	if got := actions(cs); got["Gadget/ours"] != Deleted || got["CustomResourceDefinition/gadgets."+group] != Skipped {
		t.Fatalf("prune with a foreign resource: %v", cs.Changes)
	}
	for _, c := range cs.Changes {
		if c.Key.Kind == "CustomResourceDefinition" && !strings.Contains(c.Reason, "gadgets "+f.ns+"/theirs") {
			t.Errorf("the reason does not name the foreign resource: %q", c.Reason)
		}
	}
	if _, err := f.dynamic.Resource(gadgets).Namespace(f.ns).Get(ctx, "theirs", metav1.GetOptions{}); err != nil {
		t.Fatalf("someone else's resource went with its definition: %v", err)
	}

	if err := f.dynamic.Resource(gadgets).Namespace(f.ns).Delete(ctx, "theirs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if cs := f.apply(f.objects(configMap("keep", "a: b")), DefaultOptions()); actions(cs)["CustomResourceDefinition/gadgets."+group] != Deleted {
		t.Errorf("the definition was not pruned once its last foreign resource was gone: %v", cs.Changes)
	}
}
