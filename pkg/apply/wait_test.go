package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// TestWaitPagesThroughLargeKinds waits for more objects of a kind than one
// list page holds, of a kind read by its metadata (ConfigMap) and of one
// read whole (Service): every object is looked at, a page at a time.
func TestWaitPagesThroughLargeKinds(t *testing.T) {
	f := newFixture(t)
	var manifests []string
	for i := range healthPage + 10 {
		manifests = append(manifests,
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings-%03d, namespace: NS}\ndata: {n: '%d'}\n", i, i),
			fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: web-%03d, namespace: NS}\nspec: {clusterIP: None, ports: [{port: 80}]}\n", i))
	}
	cs := f.apply(f.objects(manifests...), DefaultOptions())
	if n := cs.Counts()[Created]; n != 2*(healthPage+10) {
		t.Fatalf("created %d objects: %v", n, cs.Summary())
	}
	f.requests.Reset()
	if err := f.manager.Wait(context.Background(), cs, 30*time.Second); err != nil {
		t.Fatalf("ConfigMaps and headless Services not healthy: %v", err)
	}
	pages := map[string]int{}
	for _, r := range f.requests.Log() {
		for _, resource := range []string{"configmaps", "services"} {
			if strings.Contains(r, "/"+resource+"?") && strings.Contains(r, fmt.Sprintf("limit=%d", healthPage)) {
				pages[resource]++
			}
		}
	}
	if pages["configmaps"] != 2 || pages["services"] != 2 {
		t.Errorf("the health check read %v pages, want 2 of each kind; requests:\n%s", pages, strings.Join(f.requests.Log(), "\n"))
	}
}

// TestWaitSeesAConfigMapBeingDeleted: a kind without status is healthy as
// long as it is not being deleted, which its metadata alone says.
func TestWaitSeesAConfigMapBeingDeleted(t *testing.T) {
	f := newFixture(t)
	held := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: NS, finalizers: [example.com/hold]}\n"
	cs := f.apply(f.objects(held), DefaultOptions())
	if err := f.manager.Wait(context.Background(), cs, 10*time.Second); err != nil {
		t.Fatalf("a ConfigMap is not healthy: %v", err)
	}
	cms := env.Client.CoreV1().ConfigMaps(f.ns)
	t.Cleanup(func() {
		_, _ = cms.Patch(context.Background(), "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	if err := cms.Delete(context.Background(), "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := f.manager.Wait(context.Background(), cs, time.Second)
	var notReady *NotReadyError
	if !errors.As(err, &notReady) || len(notReady.Objects) != 1 || notReady.Objects[0].Status != status.TerminatingStatus {
		t.Fatalf("waiting for a ConfigMap held by a finalizer while deleted: %v, want it Terminating", err)
	}
}

// TestWaitSpacesOutItsLooks: an object that stays unhealthy (a Deployment
// whose pods no node takes) is looked at less and less often, so that a
// long rollout does not list its kind four times a second.
func TestWaitSpacesOutItsLooks(t *testing.T) {
	f := newFixture(t)
	stuck := strings.Replace(deployment, "containers:", "nodeSelector: {nowhere: 'true'}\n      containers:", 1)
	cs := f.apply(f.objects(stuck), DefaultOptions())
	f.requests.Reset()
	err := f.manager.Wait(context.Background(), cs, 4*time.Second)
	var notReady *NotReadyError
	if !errors.As(err, &notReady) || notReady.Failed {
		t.Fatalf("waiting 4s for an unschedulable Deployment: %v, want not ready in time", err)
	}
	looks := 0
	for _, r := range f.requests.Log() {
		if strings.Contains(r, "/deployments?") {
			looks++
		}
	}
	// At 0, 0.25, 0.75, 1.75 and 3.75s; a look every 250ms would be 16.
	if looks < 4 || looks > 6 {
		t.Errorf("the health wait looked %d times in 4s, want 4 to 6; requests:\n%s", looks, strings.Join(f.requests.Log(), "\n"))
	}
}
