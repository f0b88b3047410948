package apply

import (
	"context"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/render"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestProtectedObjectsAreNeverPruned removes from Git a Namespace and a
// Lease the daemon runs on, and an inventory: each stays, with the reason,
// and leaves the inventory, so the prune is not retried; the rest goes.
func TestProtectedObjectsAreNeverPruned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	home := f.ns + "-home"
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), home, metav1.DeleteOptions{})
	})
	manifests := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: " + home + "}\n",
		"apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: leader, namespace: " + home + "}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inventory-web, namespace: " + home + ", labels: {gitopsd.io/inventory: web}}\n",
		configMap("goes", "k: v"),
	}
	opts := DefaultOptions()
	opts.Protected = map[render.Key]string{
		{Kind: "Namespace", Name: home}: "gitopsd runs in it",
		{Group: "coordination.k8s.io", Kind: "Lease", Namespace: home, Name: "leader"}: "gitopsd's leader election Lease",
	}
	f.apply(f.objects(manifests...), opts)

	opts.AllowEmpty = true
	cs := f.apply((&renderObjectSet{}).set(), opts)
	reasons := map[string]string{}
	for _, c := range cs.Changes {
		reasons[c.Key.Kind+"/"+c.Key.Name] = string(c.Action) + ": " + c.Reason
	}
	for key, want := range map[string]string{
		"Namespace/" + home:       "skipped: never pruned: gitopsd runs in it; left in place",
		"Lease/leader":            "skipped: never pruned: gitopsd's leader election Lease; left in place",
		"ConfigMap/inventory-web": "skipped: never pruned: it is the inventory of installation web",
		"ConfigMap/goes":          "deleted: ",
	} {
		if !strings.HasPrefix(reasons[key], want) {
			t.Errorf("%s: %q, want %q", key, reasons[key], want)
		}
	}
	if n, err := env.Client.CoreV1().Namespaces().Get(ctx, home, metav1.GetOptions{}); err != nil || n.DeletionTimestamp != nil {
		t.Errorf("the protected namespace went: %v", err)
	}
	if _, err := env.Client.CoordinationV1().Leases(home).Get(ctx, "leader", metav1.GetOptions{}); err != nil {
		t.Errorf("the protected Lease went: %v", err)
	}
	if _, err := env.Client.CoreV1().ConfigMaps(home).Get(ctx, "inventory-web", metav1.GetOptions{}); err != nil {
		t.Errorf("the inventory went: %v", err)
	}
	if _, err := env.Client.CoreV1().ConfigMaps(f.ns).Get(ctx, "goes", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an unprotected object was not pruned: %v", err)
	}
	if inv, _ := f.store.Load(ctx, "app"); len(inv.Entries) != 0 || len(cs.Owned) != 0 {
		t.Errorf("the kept objects stay owned, so their prune would be retried forever: %v", inv.Entries)
	}
}
