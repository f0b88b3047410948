package bluegreen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// TestDirectPushIsHeldUntilPromoted pushes a new version straight onto
// main: no pull request merged it, so the installation is Held with the
// reason and nothing rolls out, until gitopsd promote releases it.
func TestDirectPushIsHeldUntilPromoted(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	head := f.push(app{Image: "example/web:2"}, "web 2, pushed")
	in := d.waitFor(30*time.Second, "the hold", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Held && step(head, bluegreen.StepGate)(in)
	})
	if want := "commit " + head[:12] + " is not from a merged pull request"; !strings.Contains(in.Message, want) {
		t.Errorf("message %q does not say %q", in.Message, want)
	}
	if exists(t, ns, "Deployment", "web-green") {
		t.Error("a held commit rolled out the idle colour")
	}
	if in.BlueGreen.Phase != bluegreen.PhaseHeld {
		t.Errorf("cutover phase %s, want Held", in.BlueGreen.Phase)
	}

	msg, err := d.r.Promote(context.Background(), "web")
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	t.Logf("promote: %s", msg)
	d.waitFor(60*time.Second, "the promoted cutover", settled(head, bluegreen.StepKeep))
	if got := selector(t, ns, "web"); got != "green" || image(deployment(t, ns, "web-green")) != "example/web:2" {
		t.Errorf("after promote: web selects %q, green runs %s", got, image(deployment(t, ns, "web-green")))
	}
	if _, err := d.r.Promote(context.Background(), "web"); err == nil || !strings.Contains(err.Error(), "nothing to promote") {
		t.Errorf("a second promote: %v, want nothing to promote", err)
	}
}

// TestAutoPromoteOffWaitsForPromote readies the new colour of a merged
// commit and holds the switch until gitopsd promote.
func TestAutoPromoteOffWaitsForPromote(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{Extra: "autoPromote: false"})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	head, _ := f.merge(app{Image: "example/web:2", Extra: "autoPromote: false"}, "web 2")
	in := d.waitFor(60*time.Second, "the wait for promote", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Held && step(head, bluegreen.StepSwitch)(in)
	})
	if !strings.Contains(in.Message, "waits for gitopsd promote web") {
		t.Errorf("message %q", in.Message)
	}
	if green := deployment(t, ns, "web-green"); green.Status.ReadyReplicas != 2 || selector(t, ns, "web") != "blue" {
		t.Errorf("while waiting: green has %d ready, web selects %q; want green ready and blue serving", green.Status.ReadyReplicas, selector(t, ns, "web"))
	}
	if !servedBy(t, ns, "web-preview", "web-green", 2) {
		t.Errorf("the preview Service does not reach green's pods: %v", endpoints(t, ns, "web-preview"))
	}
	if _, err := d.r.Promote(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	d.waitFor(30*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	if got := selector(t, ns, "web"); got != "green" {
		t.Errorf("after promote web selects %q", got)
	}
}
