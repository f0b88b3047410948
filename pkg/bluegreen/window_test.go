package bluegreen_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// denyDaytime is a sync window that closes from 09:00 to 17:00 UTC.
const denyDaytime = "    windows:\n      - kind: deny\n        schedule: \"0 9 * * *\"\n        duration: 8h\n"

// TestClosedWindowHoldsTheSwitch merges a version during a deny window: the
// new colour is made ready (and its Job run) but the switch waits; when the
// window ends it switches.
func TestClosedWindowHoldsTheSwitch(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{Windows: denyDaytime})
	clk := &clock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	d := startDaemon(t, f, setup{clock: clk})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	clk.Add(4 * time.Hour)
	head, _ := f.merge(app{Windows: denyDaytime, Image: "example/web:2"}, "web 2")
	in := d.waitFor(60*time.Second, "the held switch", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Held && step(head, bluegreen.StepSwitch)(in)
	})
	if !strings.Contains(in.Message, "the switch waits for the sync window at 2026-11-23T17:00:00Z") {
		t.Errorf("message %q", in.Message)
	}
	if in.HeldUntil == nil || !in.HeldUntil.Equal(time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("held until %v", in.HeldUntil)
	}
	if g := deployment(t, ns, "web-green"); g.Status.ReadyReplicas != 2 || selector(t, ns, "web") != "blue" {
		t.Errorf("while held: green has %d ready, web selects %q", g.Status.ReadyReplicas, selector(t, ns, "web"))
	}
	if !exists(t, ns, "Job", "web-migrate-1") {
		t.Error("the Job did not run before the window")
	}

	clk.Add(5*time.Hour + time.Second)
	d.r.Trigger("web")
	d.waitFor(30*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	if got := selector(t, ns, "web"); got != "green" {
		t.Errorf("after the window web selects %q", got)
	}
}
