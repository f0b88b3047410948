package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
)

// eventsOn lists the Kubernetes Events recorded on an object, by reason.
func eventsOn(t *testing.T, ns, kind, name string, uid types.UID) map[string][]corev1.Event {
	t.Helper()
	selector := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}
	if uid != "" {
		selector["involvedObject.uid"] = string(uid)
	}
	list, err := env.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: selector.String()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]corev1.Event{}
	for _, e := range list.Items {
		out[e.Reason] = append(out[e.Reason], e)
	}
	return out
}

// TestEventsAndMetrics checks each Event and metric family after the action
// that should produce it: an apply, a prune, a drift corrected, a fight
// held, and an installation removed and added again, whose Events go to
// its new inventory.
func TestEventsAndMetrics(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   cm("a", "git"),
		"app/b.yaml":   cm("b", "git"),
	})
	var stopEvents func()
	d := startDaemon(t, ns, rp, setup{
		events: func(uids *WatchedInventories) Events {
			var events *KubeEvents
			events, stopEvents = NewKubeEvents(env.Client, ns, "gitopsd-7d4b9-x2k4p", uids)
			return events
		},
		drift: func(o *drift.Options) { o.FightCorrections = 1 },
	})
	t.Cleanup(stopEvents)
	start := time.Now()
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	inventoryUID := func() types.UID {
		cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, inventory.Name("app"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.UID
	}
	onInventory := func(reason string) bool {
		return len(eventsOn(t, ns, "ConfigMap", inventory.Name("app"), inventoryUID())[reason]) > 0
	}
	waitEvent := func(what string, ok func() bool) {
		t.Helper()
		if !poll(10*time.Second, ok) {
			t.Errorf("no %s Event", what)
		}
	}
	waitEvent("Applied", func() bool { return onInventory("Applied") })
	for _, e := range eventsOn(t, ns, "ConfigMap", inventory.Name("app"), "")["Applied"] {
		if e.Source.Component != "gitopsd" || e.Source.Host != "gitopsd-7d4b9-x2k4p" || e.ReportingInstance != "gitopsd-7d4b9-x2k4p" {
			t.Errorf("Applied Event from %+v, instance %q; want gitopsd on its pod", e.Source, e.ReportingInstance)
		}
	}
	if v := metric(t, d, "gitopsd_reconcile_duration_seconds", "app", "result", "success"); v < 1 {
		t.Errorf("gitopsd_reconcile_duration_seconds{result=success}: %v observations", v)
	}
	if v := metric(t, d, "gitopsd_reconcile_objects", "app", "action", "created"); v != 2 {
		t.Errorf("gitopsd_reconcile_objects{action=created} = %v, want 2", v)
	}
	if v := metric(t, d, "gitopsd_last_successful_apply_timestamp_seconds", "app"); v < float64(start.Unix()) {
		t.Errorf("gitopsd_last_successful_apply_timestamp_seconds = %v, before the test", v)
	}
	if v := metric(t, d, "gitopsd_installation_phase", "app", "phase", "Ready"); v != 1 {
		t.Errorf("gitopsd_installation_phase{phase=Ready} = %v", v)
	}

	// A prune.
	rp.remove("app/b.yaml")
	head := rp.commit("drop b")
	d.waitFor(10*time.Second, "the prune", readyAt(head))
	waitEvent("Pruned", func() bool { return onInventory("Pruned") })
	if v := metric(t, d, "gitopsd_reconcile_objects", "app", "action", "deleted"); v != 1 {
		t.Errorf("gitopsd_reconcile_objects{action=deleted} = %v, want 1", v)
	}

	// A drift, corrected; with FightCorrections 1 the next is a fight.
	edit := func(value string) {
		t.Helper()
		cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["v"] = value
		if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
	}
	edit("by-hand")
	if !poll(10*time.Second, func() bool {
		return metric(t, d, "gitopsd_drift_corrections_total", "app") == 1 && !strings.Contains(cmValue(t, ns, "a"), "by-hand")
	}) {
		t.Fatalf("the drift was not corrected: %s", cmValue(t, ns, "a"))
	}
	waitEvent("Drift on the object", func() bool { return len(eventsOn(t, ns, "ConfigMap", "a", "")["Drift"]) > 0 })
	if v := metric(t, d, "gitopsd_drift_detections_total", "app"); v != 1 {
		t.Errorf("gitopsd_drift_detections_total = %v, want 1", v)
	}
	if v := metric(t, d, "gitopsd_drift_detection_latency_seconds", ""); v != 1 {
		t.Errorf("gitopsd_drift_detection_latency_seconds: %v observations, want 1", v)
	}
	if !poll(10*time.Second, func() bool { return metric(t, d, "gitopsd_drift_objects", "app") == 0 }) {
		t.Errorf("gitopsd_drift_objects = %v after the correction, want 0", metric(t, d, "gitopsd_drift_objects", "app"))
	}
	edit("again")
	if !poll(10*time.Second, func() bool { return metric(t, d, "gitopsd_drift_fights_total", "app") == 1 }) {
		t.Errorf("gitopsd_drift_fights_total = %v after a second edit, want 1", metric(t, d, "gitopsd_drift_fights_total", "app"))
	}
	if v := metric(t, d, "gitopsd_drift_objects", "app"); v != 1 {
		t.Errorf("gitopsd_drift_objects = %v while held, want 1", v)
	}

	// Removed and added again: a new inventory, and Events on it.
	rp.write("gitopsd.yaml", "installations:\n  - name: other\n    path: other\n")
	rp.write("other/c.yaml", cm("c", "1"))
	head = rp.commit("remove app")
	d.waitFor(10*time.Second, "the removal", func(s Status) bool { return len(s.Installations) == 1 && readyAt(head)(s) })
	if !poll(10*time.Second, func() bool { names, _ := d.store.List(ctx); return len(names) == 1 }) {
		t.Fatal("the removed installation's inventory is still there")
	}
	if v := metric(t, d, "gitopsd_installation_phase", "app"); v != -1 {
		t.Errorf("the removed installation's phase series are still there: %v", v)
	}
	rp.write("gitopsd.yaml", "installations:\n  - name: other\n    path: other\n  - name: app\n    path: app\n")
	head = rp.commit("app again")
	d.waitFor(10*time.Second, "the installation back", readyAt(head))
	waitEvent("Applied on the new inventory", func() bool { return onInventory("Applied") })
}

func cmValue(t *testing.T, ns, name string) string {
	t.Helper()
	cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["v"]
}
