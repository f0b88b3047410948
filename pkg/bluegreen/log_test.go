package bluegreen_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
)

// TestLogSaysEachStep reads the daemon's log through a cutover, a
// rollback, a refused rollback and a promote: each step has its INFO line,
// each command its outcome, and the reconcile that cut over sums up every
// apply it made (green created, the Services switched), not only the last.
func TestLogSaysEachStep(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	head, _ := f.merge(app{Image: "example/web:2"}, "web 2")
	d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))

	logs := d.logs.String()
	for _, s := range []bluegreen.Step{bluegreen.StepGate, bluegreen.StepRollout, bluegreen.StepPreCutover, bluegreen.StepSwitch, bluegreen.StepKeep} {
		want := `level=INFO msg="cutover step" installation=web commit=` + head + ` cutover=1 step=` + string(s) + ` message=`
		if !strings.Contains(logs, want) {
			t.Errorf("no log line %s", want)
		}
	}
	reconciled := regexp.MustCompile(`msg=reconciled installation=web commit=` + head + ` summary="([^"]*)"`).FindStringSubmatch(logs)
	if reconciled == nil || !strings.HasPrefix(reconciled[1], "1 created, 2 configured") {
		t.Errorf("the cutover's reconcile logged %q, want green created and the two Services configured", reconciled)
	}

	if _, err := d.r.Rollback(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.r.Rollback(context.Background(), "web"); err == nil {
		t.Fatal("a second rollback was not refused")
	}
	if _, err := d.r.Promote(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	d.waitFor(60*time.Second, "the cutover back to green", settled(head, bluegreen.StepKeep))
	logs = d.logs.String()
	for _, want := range []string{
		`cutover=1 step=RolledBack message="rolled back by gitopsd rollback: Service(s) switched to blue`,
		`level=INFO msg="command done" installation=web commit=` + head + ` action=rollback message=`,
		`level=WARN msg="command refused" installation=web commit=` + head + ` action=rollback error="web is already rolled back to blue`,
		`level=INFO msg="command done" installation=web commit=` + head + ` action=promote`,
		`cutover=2 step=Keep message="switched Service(s) web to green`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line with %s", want)
		}
	}
}
