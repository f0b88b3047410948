package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// idleFleet is one installation of three kinds reconciled every 300ms.
func idleFleet(t *testing.T, ns string) *repo {
	return newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: idle\n    path: app\n    interval: 300ms\n",
		"app/cm.yaml":  cm("settings", "1"),
		"app/sa.yaml":  "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: NS}\n",
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\n" +
			"stringData: {password: hunter2}\n",
	})
}

// reconciles counts the requests of the next n reconciles of the
// installation called name, from the moment one has recorded its apply:
// that one has decided, by then, whether to look at health. during, when
// set, runs at that moment.
func (d *daemon) reconciles(name string, n int, during func()) (reads, writes int, log []string) {
	d.t.Helper()
	applied := func() time.Time {
		in, _ := installation(d.r.Status(), name)
		if in.LastApplyTime == nil {
			return time.Time{}
		}
		return *in.LastApplyTime
	}
	next := func() {
		d.t.Helper()
		last := applied()
		if !poll(10*time.Second, func() bool { return applied().After(last) }) {
			d.t.Fatal("no periodic reconcile")
		}
	}
	next()
	d.requests.Reset()
	if during != nil {
		during()
	}
	for range n {
		next()
	}
	reads, writes = d.requests.Counts()
	return reads, writes, d.requests.Log()
}

// TestIdleReconcileCost counts the requests of periodic reconciles that
// have nothing to do: one metadata list per kind, no write, no read of the
// inventory, no health look. An object that changes (a label added by
// someone else) brings one full look back, and the reconciles after it are
// idle again. A reconcile that did nothing logs at DEBUG.
func TestIdleReconcileCost(t *testing.T) {
	const kinds, n = 3, 5
	ns := env.Namespace(t)
	rp := idleFleet(t, ns)
	d := startDaemon(t, ns, rp, setup{})
	head := rp.git("rev-parse", "HEAD")
	d.waitFor(10*time.Second, "the first apply", readyAt(head))
	d.reconciles("idle", 3, nil) // our own writes' events arrive; then it settles

	reads, writes, log := d.reconciles("idle", n, nil)
	t.Logf("an idle periodic reconcile: %.1f reads, %.1f writes (%d kinds)", float64(reads)/n, float64(writes)/n, kinds)
	if writes != 0 || reads > kinds*n {
		t.Errorf("%d idle reconciles made %d reads and %d writes, want at most %d reads (one list per kind) and none:\n%s",
			n, reads, writes, kinds*n, strings.Join(log, "\n"))
	}
	for _, l := range log {
		if strings.Contains(l, "/configmaps/inventory-") || strings.Contains(l, "gitopsd.io%2Finventory") {
			t.Errorf("an idle reconcile read an inventory: %s", l)
		}
	}

	// Someone labels the ConfigMap: not drift, but its state changed.
	reads, _, log = d.reconciles("idle", 2, func() {
		patch := `{"metadata": {"labels": {"team": "web"}}}`
		if _, err := env.Client.CoreV1().ConfigMaps(ns).Patch(context.Background(), "settings", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-label"}); err != nil {
			t.Fatal(err)
		}
	})
	if reads < 3*kinds {
		t.Errorf("after a watch event, 2 reconciles made %d reads, want a list per kind each and one full look (%d):\n%s", reads, 3*kinds, strings.Join(log, "\n"))
	}
	reads, _, log = d.reconciles("idle", n, nil)
	if reads > kinds*n {
		t.Errorf("once the event was looked at, %d reconciles made %d reads, want at most %d:\n%s", n, reads, kinds*n, strings.Join(log, "\n"))
	}

	logs := d.logs.String()
	if got := strings.Count(logs, "level=INFO msg=reconciled"); got != 1 {
		t.Errorf("%d reconciles logged at INFO, want only the one that applied the commit", got)
	}
	if !strings.Contains(logs, "level=DEBUG msg=reconciled") {
		t.Error("no-op reconciles are not logged at DEBUG")
	}
}
