package bluegreen_test

import (
	"context"
	"errors"
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

// TestSecondRollbackIsRefused rolls back twice: the second is refused with
// what to do instead and changes nothing (it never rolls forward to the
// colour rolled back from); gitopsd promote then returns to green with a
// new cutover, and every record says so.
func TestSecondRollbackIsRefused(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{reporter: reporting(t, f)})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	head, _ := f.merge(app{Image: "example/web:2"}, "web 2")
	d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))

	if _, err := d.r.Rollback(context.Background(), "web"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	before := d.installation().BlueGreen
	msg, err := d.r.Rollback(context.Background(), "web")
	if err == nil || !strings.Contains(err.Error(), "web is already rolled back to blue") || !strings.Contains(err.Error(), "gitopsd promote web returns to green (commit "+head[:12]+")") {
		t.Fatalf("a second rollback: %q, %v; want it refused", msg, err)
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Fatalf("after a second rollback web selects %q, want blue still", got)
	}
	in := d.waitFor(30*time.Second, "the hold", func(in reconcile.InstallationStatus) bool { return in.Phase == reconcile.Held })
	bg := in.BlueGreen
	if bg.Live != bluegreen.Blue || bg.Step != bluegreen.StepRolledBack || bg.Held == nil || bg.Held.Commit != head || len(bg.Cutover.Events) != len(before.Cutover.Events) {
		t.Errorf("after a refused rollback: live %s, step %s, rolled back %+v, %d events (were %d)", bg.Live, bg.Step, bg.Held, len(bg.Cutover.Events), len(before.Cutover.Events))
	}
	daemontest.Eventually(t, 30*time.Second, "the failure status of the rollback", func() bool {
		state, desc, _ := cutoverStatus(f.gh, head)
		return state == "failure" && strings.Contains(desc, "switched to blue")
	})

	if _, err := d.r.Promote(context.Background(), "web"); err != nil {
		t.Fatalf("promote: %v", err)
	}
	in = d.waitFor(60*time.Second, "the cutover back to green", settled(head, bluegreen.StepKeep))
	if bg := in.BlueGreen; bg.Live != bluegreen.Green || bg.Held != nil || bg.Cutover.Number != 2 || bg.Phase != bluegreen.PhaseSucceeded {
		t.Errorf("after promote: live %s, rolled back %+v, cutover #%d %s", bg.Live, bg.Held, bg.Cutover.Number, bg.Phase)
	}
	daemontest.Eventually(t, 30*time.Second, "the success status of cutover #2", func() bool {
		state, desc, _ := cutoverStatus(f.gh, head)
		return state == "success" && strings.Contains(desc, "cutover #2")
	})
}

// TestCommandToUnknownInstallation names an installation the fleet does
// not have: the answer says so, rather than that another replica has it.
func TestCommandToUnknownInstallation(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	for _, do := range []func(context.Context, string) (string, error){d.r.Rollback, d.r.Promote} {
		_, err := do(context.Background(), "nope")
		if !errors.Is(err, reconcile.ErrNoInstallation) || err.Error() != "no installation nope in gitopsd.yaml (it lists web)" {
			t.Errorf("a command to nope: %v", err)
		}
	}
}
