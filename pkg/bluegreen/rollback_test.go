package bluegreen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// cutOver starts a daemon on the first version and cuts over to the second
// by a merged pull request; it returns the daemon, the fleet and the
// second commit.
func cutOver(t *testing.T, ns string, first, second app) (*daemon, *fleet, string) {
	t.Helper()
	f := newFleet(t, ns, first)
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	head, _ := f.merge(second, "second version")
	d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	return d, f, head
}

// TestRollbackWithinDelaySwitchesBack rolls back while blue is still kept:
// the Service selects blue again in under a second, the installation is
// held there, and a reconcile does not cut over again.
func TestRollbackWithinDelaySwitchesBack(t *testing.T) {
	ns := env.Namespace(t)
	d, _, head := cutOver(t, ns, app{}, app{Image: "example/web:2"})
	daemontest.Eventually(t, 30*time.Second, "green to serve", func() bool { return servedBy(t, ns, "web", "web-green", 2) })

	start := time.Now()
	msg, err := d.r.Rollback(context.Background(), "web")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Fatalf("after rollback web selects %q", got)
	}
	t.Logf("rollback: %s (took %s)", msg, took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("rollback took %s, want under a second", took)
	}
	daemontest.Eventually(t, 30*time.Second, "blue to serve again", func() bool { return servedBy(t, ns, "web", "web-blue", 2) })
	t.Logf("blue serves %s after the rollback began", time.Since(start).Round(time.Millisecond))

	d.r.Trigger("web")
	in := d.waitFor(30*time.Second, "the hold", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Held && strings.Contains(in.Message, "rolled back to blue")
	})
	if in.BlueGreen.Live != bluegreen.Blue || selector(t, ns, "web") != "blue" || in.BlueGreen.Cutover.Commit != head || in.BlueGreen.Step != bluegreen.StepRolledBack {
		t.Errorf("after a reconcile: live %s, step %s, web selects %q", in.BlueGreen.Live, in.BlueGreen.Step, selector(t, ns, "web"))
	}
	if replicas(deployment(t, ns, "web-green")) != 2 {
		t.Error("green was scaled down at once; it is kept for the delay")
	}
}

// TestRevertCommitSwitchesWithoutRollout merges a revert while blue is
// kept: its template is blue's, so the cutover switches back without
// rolling anything out.
func TestRevertCommitSwitchesWithoutRollout(t *testing.T) {
	ns := env.Namespace(t)
	d, f, _ := cutOver(t, ns, app{}, app{Image: "example/web:2"})
	blue := deployment(t, ns, "web-blue")

	revert, _ := f.merge(app{}, "revert")
	d.waitFor(60*time.Second, "the switch back", settled(revert, bluegreen.StepKeep))
	after := deployment(t, ns, "web-blue")
	if after.Generation != blue.Generation {
		t.Errorf("blue was rolled out again: generation %d -> %d", blue.Generation, after.Generation)
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Errorf("web selects %q, want blue", got)
	}
	if replicas(deployment(t, ns, "web-green")) != 2 {
		t.Error("green is not kept after the revert")
	}
}

// TestRollbackAfterDelayScalesUpFirst rolls back once blue was scaled to
// zero: blue comes back at green's size and only then takes the traffic.
func TestRollbackAfterDelayScalesUpFirst(t *testing.T) {
	ns := env.Namespace(t)
	d, _, head := cutOver(t, ns, app{}, app{Image: "example/web:2"})
	d.clock.Add(time.Hour + time.Second)
	d.r.Trigger("web")
	d.waitFor(30*time.Second, "blue's scale-down", settled(head, bluegreen.StepDone))
	daemontest.Eventually(t, 30*time.Second, "blue's pods to go", func() bool { return len(podsOf(t, ns, bluegreen.Blue)) == 0 })

	served := watchEndpoints(t, ns, "web", "web", 2)
	if _, err := d.r.Rollback(context.Background(), "web"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	served.stop()
	if got := selector(t, ns, "web"); got != "blue" {
		t.Fatalf("after rollback web selects %q", got)
	}
	if b := deployment(t, ns, "web-blue"); replicas(b) != 2 || b.Status.ReadyReplicas != 2 {
		t.Errorf("blue at %d replicas, %d ready", replicas(b), b.Status.ReadyReplicas)
	}
	if gaps := served.gaps(); gaps != "" {
		t.Errorf("web lacked ready endpoints during the rollback: %s", gaps)
	}
}
