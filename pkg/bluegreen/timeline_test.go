package bluegreen_test

import (
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
)

// TestTimelineHasEachStepsTime cuts over on the wall clock: each step of
// the timeline carries the time it happened (the rollout and the Job take
// real time, so the switch comes later than the gate), and the old colour
// is kept for scaleDownDelay from the switch, not from the gate.
func TestTimelineHasEachStepsTime(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{cutover: func(o *bluegreen.Options) { o.Now = time.Now }})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	merged := time.Now()
	head, _ := f.merge(app{Image: "example/web:2"}, "web 2")
	in := d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	seen := time.Now()

	at := map[bluegreen.Step]time.Time{}
	for i, e := range in.BlueGreen.Cutover.Events {
		t.Logf("%s %s: %s", e.At.Format(time.RFC3339Nano), e.Step, e.Message)
		if e.At.Before(merged) || e.At.After(seen) {
			t.Errorf("%s at %s: not between the merge (%s) and the switch seen (%s)", e.Step, e.At, merged, seen)
		}
		if i > 0 && e.At.Before(in.BlueGreen.Cutover.Events[i-1].At) {
			t.Errorf("%s at %s comes before the step ahead of it", e.Step, e.At)
		}
		at[e.Step] = e.At
	}
	// Rollout is recorded when the gate passes, PreCutover once green is
	// available, Switch once the Job completed, Keep at the switch.
	if !at[bluegreen.StepPreCutover].After(at[bluegreen.StepRollout]) {
		t.Errorf("green became available at %s, not after its rollout began at %s", at[bluegreen.StepPreCutover], at[bluegreen.StepRollout])
	}
	if !at[bluegreen.StepKeep].After(at[bluegreen.StepPreCutover]) {
		t.Errorf("the switch at %s is not after the Job began at %s", at[bluegreen.StepKeep], at[bluegreen.StepPreCutover])
	}
	for _, c := range in.BlueGreen.Colours {
		if c.Colour != bluegreen.Blue {
			continue
		}
		if want := at[bluegreen.StepKeep].Add(time.Hour); c.KeepUntil == nil || !c.KeepUntil.Equal(want) {
			t.Errorf("blue kept until %v, want an hour after the switch: %s", c.KeepUntil, want)
		}
	}
}
