package app

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bulkFleet writes a fleet of one installation, "bulk", with ConfigMaps
// named cm-<from>..cm-<to-1> in namespace ns.
func bulkFleet(r *gitRepo, ns string, from, to int) {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%04d, namespace: %s}\ndata: {index: %q}\n", i, ns, fmt.Sprint(i))
	}
	r.write("bulk/objects.yaml", b.String())
	r.write("gitopsd.yaml", "installations:\n  - name: "+ns+"\n    path: bulk\n")
}

// labelled lists the names of the ConfigMaps in ns that carry an
// installation label.
func labelled(t *testing.T, ns string) map[string]bool {
	t.Helper()
	list, err := env.Client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: apply.LabelInstallation})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, cm := range list.Items {
		names[cm.Name] = true
	}
	return names
}

// TestRestartAfterKillConverges kills the daemon with SIGKILL in the middle
// of applying 400 objects, starts it again, and checks that it converges
// with no orphaned and no wrongly pruned object.
func TestRestartAfterKillConverges(t *testing.T) {
	ctx := context.Background()
	ns := "restart"
	repo := newGitRepo(t, t.TempDir())
	bulkFleet(repo, ns, 0, 400)
	head := repo.commit("400 ConfigMaps")
	// Someone else's ConfigMap in the same namespace must survive.
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-0399-theirs", Namespace: ns}}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	first := startDaemon(t, "--repo", repo.dir, "--concurrency", "1")
	var atKill int
	err := pollUntil(30*time.Second, func() bool {
		atKill = len(labelled(t, ns))
		return atKill > 20
	})
	if err != nil {
		t.Fatal("the first daemon applied nothing")
	}
	first.kill()
	if atKill >= 400 {
		t.Fatalf("the daemon finished before it was killed; the test needs a slower apply")
	}
	t.Logf("killed after %d of 400 objects", atKill)

	second := startDaemon(t, "--repo", repo.dir)
	second.waitFor(30*time.Second, "convergence after the restart", allAt(head))
	if got := len(labelled(t, ns)); got != 400 {
		t.Errorf("%d ConfigMaps after the restart, want 400", got)
	}

	// Half leave Git, ten arrive.
	bulkFleet(repo, ns, 200, 410)
	head = repo.commit("keep 200..409")
	second.kill()
	third := startDaemon(t, "--repo", repo.dir)
	third.waitFor(30*time.Second, "the new set", allAt(head))
	got := labelled(t, ns)
	for i := range 410 {
		name := fmt.Sprintf("cm-%04d", i)
		if want := i >= 200; got[name] != want {
			t.Errorf("%s exists=%v, want %v", name, got[name], want)
		}
	}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, theirs.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("a ConfigMap gitopsd does not own was pruned: %v", err)
	}
	inv, err := inventory.NewStore(env.Client, inventory.DefaultNamespace).Load(ctx, ns)
	if err != nil || len(inv.Entries) != 211 || inv.Commit != head {
		t.Errorf("inventory: %d entries at %s (%v), want 211 at %s", len(inv.Entries), inv.Commit, err, head)
	}
}

// TestSIGTERMLetsTheApplyFinish stops the daemon with SIGTERM in the middle
// of applying 400 objects: it finishes the apply, records the inventory at
// the commit, and exits cleanly.
func TestSIGTERMLetsTheApplyFinish(t *testing.T) {
	ctx := context.Background()
	ns := "sigterm"
	repo := newGitRepo(t, t.TempDir())
	bulkFleet(repo, ns, 0, 400)
	head := repo.commit("400 ConfigMaps")
	d := startDaemon(t, "--repo", repo.dir, "--concurrency", "1", "--shutdown-grace", "2m")
	var atSignal int
	if err := pollUntil(30*time.Second, func() bool { atSignal = len(labelled(t, ns)); return atSignal > 20 }); err != nil {
		t.Fatal("the daemon applied nothing")
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the daemon did not stop after SIGTERM")
	}
	if d.err != nil {
		t.Errorf("exit after SIGTERM: %v", d.err)
	}
	if atSignal >= 400 {
		t.Fatalf("the apply had finished before SIGTERM; the test needs a slower apply")
	}
	t.Logf("SIGTERM after %d of 400 objects", atSignal)
	if got := len(labelled(t, ns)); got != 400 {
		t.Errorf("%d of 400 ConfigMaps after the shutdown", got)
	}
	inv, err := inventory.NewStore(env.Client, inventory.DefaultNamespace).Load(ctx, ns)
	if err != nil || len(inv.Entries) != 401 || inv.Commit != head {
		t.Errorf("inventory: %d entries at %s (%v), want 401 (the namespace and 400 ConfigMaps) at %s", len(inv.Entries), inv.Commit, err, head)
	}
}

// TestLeaderElection runs two replicas: only the leader applies, and the
// standby takes over when the leader dies.
func TestLeaderElection(t *testing.T) {
	repo := newGitRepo(t, t.TempDir())
	repo.write("gitopsd.yaml", "installations:\n  - name: elected\n    path: app\n")
	repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elected, namespace: default}\ndata: {v: '1'}\n")
	head := repo.commit("one ConfigMap")
	args := []string{"--repo", repo.dir, "--interval", "1s", "--leader-elect", "--leader-election-lease-duration", "2s", "--leader-election-id", "test-election"}
	a, b := startDaemon(t, args...), startDaemon(t, args...)

	leader, standby := leaderAndStandby(t, a, b, head)
	if s := standby.status(); len(s.Installations) != 0 {
		t.Errorf("the standby reconciles: %+v", s.Installations)
	}

	leader.kill()
	start := time.Now()
	standby.waitFor(30*time.Second, "the standby to take over", func(s *statusResponse) bool { return s.Leading && allAt(head)(s) })
	t.Logf("standby took over after %s", time.Since(start).Round(time.Millisecond))

	repo.write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elected, namespace: default}\ndata: {v: '2'}\n")
	head = repo.commit("v2")
	standby.waitFor(30*time.Second, "the new leader to apply a commit", allAt(head))

	// A leader stopped with SIGTERM releases the Lease once it has
	// finished, and a third replica takes over.
	third := startDaemon(t, args...)
	third.waitFor(10*time.Second, "the third replica to stand by", func(s *statusResponse) bool { return !s.Leading })
	if err := standby.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-standby.done
	if standby.err != nil {
		t.Errorf("the leader's exit after SIGTERM: %v", standby.err)
	}
	third.waitFor(10*time.Second, "the third replica to lead", func(s *statusResponse) bool { return s.Leading && allAt(head)(s) })
}
