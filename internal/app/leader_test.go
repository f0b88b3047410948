package app

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// leaseHolder reads the holder of the Lease name in gitopsd's namespace.
func leaseHolder(t *testing.T, name string) string {
	t.Helper()
	lease, err := env.Client.CoordinationV1().Leases(inventory.DefaultNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// applying starts a leading daemon on 400 ConfigMaps applied one at a time
// and returns once the apply is under way. The Lease lasts duration.
func applying(t *testing.T, ns, lease, duration string) (*daemonProcess, *gitRepo, string) {
	t.Helper()
	repo := newGitRepo(t, t.TempDir())
	bulkFleet(repo, ns, 0, 400)
	head := repo.commit("400 ConfigMaps")
	d := startDaemon(t, "--repo", repo.dir, "--concurrency", "1", "--leader-elect",
		"--leader-election-id", lease, "--leader-election-lease-duration", duration)
	if err := pollUntil(60*time.Second, func() bool { return len(labelled(t, ns)) > 10 }); err != nil {
		t.Fatalf("the daemon applied nothing:\n%s", d.logs)
	}
	if leaseHolder(t, lease) == "" {
		t.Fatal("the daemon applies without holding the Lease")
	}
	return d, repo, head
}

// TestShutdownReleasesTheLeaseAfterTheReconciler sends SIGTERM during an
// apply: the apply finishes and is recorded, and only then is the Lease
// released (well before it would expire), and the daemon exits 0.
func TestShutdownReleasesTheLeaseAfterTheReconciler(t *testing.T) {
	const ns, lease = "shutdown-lease", "test-shutdown-lease"
	d, _, head := applying(t, ns, lease, "10s")
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	if err := pollUntil(45*time.Second, func() bool { return leaseHolder(t, lease) == "" }); err != nil {
		t.Fatalf("the Lease was not released after SIGTERM:\n%s", d.logs)
	}
	t.Logf("Lease released %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	if got := len(labelled(t, ns)); got != 400 {
		t.Errorf("the Lease was released with %d of 400 objects applied: the apply under way did not finish first", got)
	}
	inv, err := inventory.NewStore(env.Client, inventory.DefaultNamespace).Load(context.Background(), ns)
	if err != nil || inv.Commit != head {
		t.Errorf("the Lease was released before the inventory recorded %s: %v %+v", head, err, inv)
	}
	select {
	case <-d.done:
		if d.err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", d.err, d.logs)
		}
	case <-time.After(10 * time.Second):
		t.Error("the daemon did not exit after releasing the Lease")
	}
}

// TestLosingTheLeaseStopsApplying takes the Lease from a daemon in the
// middle of an apply: the apply stops at once (not after the shutdown
// grace), and the process exits with an error.
func TestLosingTheLeaseStopsApplying(t *testing.T) {
	const ns, lease = "lost-lease", "test-lost-lease"
	// A short Lease, so that the loss is noticed within a second or two.
	d, _, _ := applying(t, ns, lease, "2s")
	leases := env.Client.CoordinationV1().Leases(inventory.DefaultNamespace)
	thief := "thief"
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Get(context.Background(), lease, metav1.GetOptions{})
		if err != nil {
			return err
		}
		long, now := int32(3600), metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = &thief, &long, &now, &now
		_, err = leases.Update(context.Background(), l, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stolen := time.Now()
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the daemon kept running after losing the Lease:\n%s", d.logs)
	}
	t.Logf("exited %s after the Lease was taken", time.Since(stolen).Round(time.Millisecond))
	if d.err == nil || !strings.Contains(d.logs.String(), "lost the leader election Lease") {
		t.Errorf("exit %v; the daemon must fail saying it lost the Lease:\n%s", d.err, d.logs)
	}
	if got := len(labelled(t, ns)); got >= 400 {
		t.Errorf("all %d objects were applied after the Lease was lost: the apply was not aborted", got)
	}
	if got := leaseHolder(t, lease); got != thief {
		t.Errorf("Lease holder = %q, want the thief's: a replica that lost the Lease must not touch it", got)
	}
}
