package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/render"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// applyAs applies set as installation name of source src, with fleet.
func (f *fixture) applyAs(name, src string, fleet []string, set *render.ObjectSet, opts Options) *ChangeSet {
	f.t.Helper()
	req := Request{Installation: name, Namespace: f.ns, Source: src, Fleet: fleet, Commit: "c1", Objects: set}
	cs, err := f.manager.Apply(context.Background(), req, opts)
	if err != nil {
		f.t.Fatalf("apply %s: %v", name, err)
	}
	return cs
}

// changeOf returns the change of the ConfigMap name.
func changeOf(cs *ChangeSet, name string) Change {
	for _, c := range cs.Changes {
		if c.Key.Kind == "ConfigMap" && c.Key.Name == name {
			return c
		}
	}
	return Change{}
}

// holder returns the installation label of ConfigMap name.
func (f *fixture) holder(name string) string {
	f.t.Helper()
	cm, err := f.get(configMaps, f.ns, name)
	if err != nil {
		f.t.Fatalf("ConfigMap %s: %v", name, err)
	}
	return cm.GetLabels()[LabelInstallation]
}

func (f *fixture) owns(installation, name string) bool {
	f.t.Helper()
	inv, err := f.store.Load(context.Background(), installation)
	if err != nil {
		f.t.Fatal(err)
	}
	_, ok := inv.Index()[render.Key{Kind: "ConfigMap", Namespace: f.ns, Name: name}]
	return ok
}

// TestTwoInstallationsClaimingOneObject renders one ConfigMap in two
// installations of one fleet: the second is refused with an error naming
// both, is not waited on, does not take the object, and cannot prune it.
func TestTwoInstallationsClaimingOneObject(t *testing.T) {
	f := newFixture(t)
	const fleetSource = "https://example.com/fleet.git@main"
	fleet := []string{"a", "b"}
	shared := configMap("shared", "k: v")
	f.applyAs("a", fleetSource, fleet, f.objects(shared, configMap("a-own", "k: v")), DefaultOptions())

	cs := f.applyAs("b", fleetSource, fleet, f.objects(shared, configMap("b-own", "k: v")), DefaultOptions())
	if got := actions(cs); got["ConfigMap/shared"] != Failed || got["ConfigMap/b-own"] != Created {
		t.Fatalf("the second claimant: %v", got)
	}
	err := cs.Err()
	var claim *ClaimError
	if !errors.As(err, &claim) || claim.Holder != "a" || claim.Installation != "b" {
		t.Fatalf("error %v, want a ClaimError of b against a", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "installation a") || !strings.Contains(msg, "installation b") || !strings.Contains(msg, "ConfigMap/"+f.ns+"/shared") {
		t.Errorf("the error does not name the object and both installations: %s", msg)
	}
	if f.holder("shared") != "a" || f.owns("b", "shared") {
		t.Errorf("the refused installation took the object (label %q) or recorded it", f.holder("shared"))
	}
	start := time.Now()
	if err := f.manager.Wait(context.Background(), cs, time.Minute); err != nil || time.Since(start) > 10*time.Second {
		t.Errorf("waiting on the refused installation: %v after %s; a refused object is not waited on", err, time.Since(start))
	}

	// No tug of war: neither writes the object again.
	for round := range 3 {
		f.requests.Reset()
		csA := f.applyAs("a", fleetSource, fleet, f.objects(shared, configMap("a-own", "k: v")), DefaultOptions())
		csB := f.applyAs("b", fleetSource, fleet, f.objects(shared, configMap("b-own", "k: v")), DefaultOptions())
		if _, writes := f.requests.Counts(); writes != 0 || actions(csA)["ConfigMap/shared"] != Unchanged || actions(csB)["ConfigMap/shared"] != Failed {
			t.Errorf("round %d: a %v, b %v, %d writes: %v", round, actions(csA), actions(csB), writes, f.requests.Log())
		}
	}

	// b drops it from Git: b prunes nothing of a's.
	cs = f.applyAs("b", fleetSource, fleet, f.objects(configMap("b-own", "k: v")), DefaultOptions())
	if got := actions(cs); got["ConfigMap/shared"] != "" || f.holder("shared") != "a" {
		t.Errorf("b without the object: %v; label %q", got, f.holder("shared"))
	}

	// a lets go of it without deleting it; then b may take it.
	kept := strings.Replace(shared, "metadata: {", "metadata: {annotations: {gitopsd.io/prune: disabled}, ", 1)
	f.applyAs("a", fleetSource, fleet, f.objects(kept, configMap("a-own", "k: v")), DefaultOptions())
	if cs := f.applyAs("a", fleetSource, fleet, f.objects(configMap("a-own", "k: v")), DefaultOptions()); actions(cs)["ConfigMap/shared"] != Skipped {
		t.Fatalf("a letting go: %v", cs.Changes)
	}
	cs = f.applyAs("b", fleetSource, fleet, f.objects(shared, configMap("b-own", "k: v")), DefaultOptions())
	if err := cs.Err(); err != nil || actions(cs)["ConfigMap/shared"] != Configured || f.holder("shared") != "b" || !f.owns("b", "shared") {
		t.Errorf("taking over an object a's inventory no longer lists: %v, %v; label %q", actions(cs), err, f.holder("shared"))
	}
	if reason := changeOf(cs, "shared").Reason; reason != "taken over from installation a" {
		t.Errorf("the take-over's reason is %q", reason)
	}
}

// TestRenameMovesObjects renames installation old to new in one fleet: new
// takes old's objects while old's inventory still lists them, and old's
// removal then leaves them alone. An installation of another source is not
// released by leaving this fleet.
func TestRenameMovesObjects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const fleetSource = "https://example.com/fleet.git@main"
	set := func() *render.ObjectSet { return f.objects(configMap("web", "k: v")) }
	f.applyAs("old", fleetSource, []string{"old"}, set(), DefaultOptions())
	before, _ := f.get(configMaps, f.ns, "web")

	// The same source spelled another way is still the same source.
	cs := f.applyAs("new", "git@example.com:fleet@refs/heads/main", []string{"new"}, set(), DefaultOptions())
	if err := cs.Err(); err != nil || f.holder("web") != "new" || !f.owns("new", "web") {
		t.Fatalf("the renamed installation: %v, %v; label %q", actions(cs), err, f.holder("web"))
	}
	empty := &renderObjectSet{}
	opts := DefaultOptions()
	opts.AllowEmpty = true
	cs, err := f.manager.Apply(ctx, Request{Installation: "old", Namespace: f.ns, Source: fleetSource, Objects: empty.set()}, opts)
	if err != nil || actions(cs)["ConfigMap/web"] != Skipped {
		t.Fatalf("removing the old installation: %v, %v", cs, err)
	}
	after, err := f.get(configMaps, f.ns, "web")
	if err != nil || after.GetUID() != before.GetUID() {
		t.Fatalf("the renamed object did not keep running: %v", err)
	}

	// Another daemon's installation keeps its object, fleet or not.
	f.applyAs("theirs", "https://example.com/other.git@main", []string{"theirs"}, f.objects(configMap("db", "k: v")), DefaultOptions())
	cs = f.applyAs("new", fleetSource, []string{"new"}, f.objects(configMap("web", "k: v"), configMap("db", "k: v")), DefaultOptions())
	var claim *ClaimError
	if !errors.As(cs.Err(), &claim) || claim.Holder != "theirs" || !strings.Contains(cs.Err().Error(), "(of //example.com/other@refs/heads/main)") || f.holder("db") != "theirs" {
		t.Errorf("another source's object: %v; label %q", cs.Err(), f.holder("db"))
	}
}

// TestNamespaceWithOthersObjectsIsNotPruned removes a Namespace from one
// installation while another installation has an object in it: the
// Namespace stays, the reason names the object, and the prune is retried.
func TestNamespaceWithOthersObjectsIsNotPruned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ns := f.ns + "-team"
	namespace := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"
	theirs := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs, namespace: " + ns + "}\ndata: {k: v}\n"
	f.applyAs("a", "", nil, f.objects(namespace, configMap("keep", "k: v")), DefaultOptions())
	f.applyAs("b", "", nil, f.objects(theirs), DefaultOptions())
	t.Cleanup(func() { _ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	cs := f.applyAs("a", "", nil, f.objects(configMap("keep", "k: v")), DefaultOptions())
	var reason string
	for _, c := range cs.Changes {
		if c.Key.Kind == "Namespace" {
			reason = c.Reason
		}
	}
	if got := actions(cs)["Namespace/"+ns]; got != Skipped || !strings.Contains(reason, "ConfigMap "+ns+"/theirs (installation b)") {
		t.Fatalf("pruning a namespace holding b's object: %s, %q", got, reason)
	}
	n, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || n.DeletionTimestamp != nil {
		t.Fatalf("the namespace went: %v", err)
	}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "theirs", metav1.GetOptions{}); err != nil {
		t.Fatalf("b's object went: %v", err)
	}
	inv, _ := f.store.Load(ctx, "a")
	if _, kept := inv.Index()[render.Key{Kind: "Namespace", Name: ns}]; !kept {
		t.Fatalf("the refused namespace left a's inventory, so nobody retries: %v", inv.Entries)
	}

	// b moves out; a's next apply prunes the namespace.
	f.applyAs("b", "", nil, (&renderObjectSet{}).set(), Options{Prune: true, AllowEmpty: true})
	cs = f.applyAs("a", "", nil, f.objects(configMap("keep", "k: v")), DefaultOptions())
	if got := actions(cs)["Namespace/"+ns]; got != Deleted {
		t.Errorf("the retried namespace prune: %v", cs.Changes)
	}
	n, err = env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) && (err != nil || n.DeletionTimestamp == nil) {
		t.Errorf("the namespace is still there: %v", err)
	}
}
