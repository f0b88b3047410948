package reconcile

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A Deployment never becomes available on an API-only plane: a health wait
// on it lasts until its timeout.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
`

func exists(t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestNewCommitCutsHealthWaitShort commits a fix while a health wait of 5
// minutes is under way: the fix applies at once.
func TestNewCommitCutsHealthWaitShort(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml":    "installations:\n  - name: app\n    path: app\n    timeout: 5m\n",
		"app/deploy.yaml": deployment,
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the health wait", func(s Status) bool {
		return len(s.Installations) == 1 && strings.Contains(s.Installations[0].Message, "waiting for the objects to become healthy")
	})
	rp.remove("app/deploy.yaml")
	rp.write("app/a.yaml", cm("a", "1"))
	start := time.Now()
	head := rp.commit("no Deployment")
	d.waitFor(10*time.Second, "the new commit", readyAt(head))
	t.Logf("the new commit was applied %s after it arrived", time.Since(start).Round(time.Millisecond))
}

// TestFailedObjectEndsHealthWait makes a Deployment's rollout fail (kstatus
// Failed: its progress deadline passed) during a 5-minute health wait: the
// wait ends at once, naming the object.
func TestFailedObjectEndsHealthWait(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml":    "installations:\n  - name: app\n    path: app\n    timeout: 5m\n",
		"app/deploy.yaml": deployment,
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the health wait", func(s Status) bool {
		return len(s.Installations) == 1 && strings.Contains(s.Installations[0].Message, "waiting for the objects to become healthy")
	})
	// Play the Deployment controller.
	deployments := env.Client.AppsV1().Deployments(ns)
	dep, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep.Status.ObservedGeneration = dep.Generation
	dep.Status.Conditions = []appsv1.DeploymentCondition{{
		Type: appsv1.DeploymentProgressing, Status: "False", Reason: "ProgressDeadlineExceeded",
		Message: `ReplicaSet "web-1" has timed out progressing.`, LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now(),
	}}
	if _, err := deployments.UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s := d.waitFor(10*time.Second, "the wait to fail", func(s Status) bool { return s.Installations[0].Phase == Failed })
	t.Logf("the wait ended %s after the rollout failed", time.Since(start).Round(time.Millisecond))
	in := s.Installations[0]
	if len(in.NotReady) != 1 || in.NotReady[0].Status != "Failed" || !strings.Contains(in.LastError, "Deployment.apps/"+ns+"/web") {
		t.Errorf("the failure does not name the failed object: %+v", in)
	}
	if len(d.events.with("NotHealthy")) != 1 {
		t.Errorf("events: %+v", d.events.events)
	}
}

// TestRemovingAnInstallationWithoutPruneKeepsItsObjects removes, from
// gitopsd.yaml, an installation with prune: false: its objects stay, its
// inventory goes; the installation that prunes loses its objects.
func TestRemovingAnInstallationWithoutPruneKeepsItsObjects(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: keep\n    path: keep\n    prune: false\n  - name: gone\n    path: gone\n  - name: stay\n    path: stay\n",
		"keep/a.yaml":  cm("kept", "1"),
		"gone/a.yaml":  cm("pruned", "1"),
		"stay/a.yaml":  cm("stay", "1"),
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	rp.write("gitopsd.yaml", "installations:\n  - name: stay\n    path: stay\n")
	head := rp.commit("remove keep and gone")
	d.waitFor(10*time.Second, "the removal", func(s Status) bool { return len(s.Installations) == 1 && readyAt(head)(s) })
	if !poll(10*time.Second, func() bool { names, _ := d.store.List(context.Background()); return len(names) == 1 }) {
		names, _ := d.store.List(context.Background())
		t.Fatalf("inventories left: %v", names)
	}
	if !exists(t, ns, "kept") {
		t.Error("the objects of an installation with prune: false were deleted")
	}
	if exists(t, ns, "pruned") {
		t.Error("the objects of a removed installation that prunes are still there")
	}
}

// TestChangedPathAppliesTheNewAndPrunesTheOld points an installation at
// another directory.
func TestChangedPathAppliesTheNewAndPrunesTheOld(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: v1\n",
		"v1/a.yaml":    cm("old", "1"),
		"v2/a.yaml":    cm("new", "1"),
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	rp.write("gitopsd.yaml", "installations:\n  - name: app\n    path: v2\n")
	head := rp.commit("move to v2")
	s := d.waitFor(10*time.Second, "the new path", readyAt(head))
	if in := s.Installations[0]; in.Path != "v2" || in.Objects["created"] != 1 || in.Objects["deleted"] != 1 {
		t.Errorf("status after the move: %+v", in)
	}
	if !exists(t, ns, "new") || exists(t, ns, "old") {
		t.Errorf("after the move: new exists %v, old exists %v", exists(t, ns, "new"), exists(t, ns, "old"))
	}
}

// failingSaves is an inventory store whose saves fail while armed, as when
// the API server goes away between a prune and the inventory's write.
type failingSaves struct {
	Store
	mu    sync.Mutex
	armed bool
}

func (f *failingSaves) Save(ctx context.Context, inv *inventory.Inventory) error {
	f.mu.Lock()
	armed := f.armed
	f.armed = false
	f.mu.Unlock()
	if armed {
		return context.DeadlineExceeded
	}
	return f.Store.Save(ctx, inv)
}

// TestPrunedObjectsAreNotDrift prunes an object in an apply whose
// inventory write then fails: what was pruned is not taken for drift.
func TestPrunedObjectsAreNotDrift(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   cm("a", "1"),
		"app/b.yaml":   cm("b", "1"),
	})
	saves := &failingSaves{}
	d := startDaemon(t, ns, rp, setup{store: func(s Store) Store { saves.Store = s; return saves }})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	saves.mu.Lock()
	saves.armed = true
	saves.mu.Unlock()
	rp.remove("app/b.yaml")
	head := rp.commit("drop b")
	if !poll(10*time.Second, func() bool { return len(d.events.with("ApplyFailed")) == 1 }) {
		t.Fatal("the inventory write did not fail")
	}
	d.waitFor(10*time.Second, "the retry", readyAt(head))
	if exists(t, ns, "b") {
		t.Error("the pruned object came back")
	}
	if n := metric(t, d, "gitopsd_drift_detections_total", "app"); n > 0 {
		t.Errorf("%v drift detections of a pruned object", n)
	}
}
