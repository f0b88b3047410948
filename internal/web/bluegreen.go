package web

import (
	"slices"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
)

// blueGreenView is what the "bluegreen" template renders: an
// installation's colours and cutover, and the page for its helpers.
type blueGreenView struct {
	Page   *page
	Status *bluegreen.Status
}

func blueGreenOf(p *page, s *bluegreen.Status) blueGreenView {
	return blueGreenView{Page: p, Status: s}
}

// Colours are a blue/green installation's two colours, in a stable order;
// a colour never created has no Deployment.
func (p *page) Colours(s *bluegreen.Status) []colourView {
	out := make([]colourView, 0, len(bluegreen.Colours))
	for _, c := range bluegreen.Colours {
		v := colourView{Colour: c}
		for i := range s.Colours {
			if s.Colours[i].Colour == c {
				v.Deployment = &s.Colours[i]
			}
		}
		v.Target = s.Cutover.Active() && s.Cutover.To == c
		out = append(out, v)
	}
	return out
}

// colourView is one colour on the page: its Deployment, if any, and
// whether the cutover under way moves the traffic to it.
type colourView struct {
	Colour     bluegreen.Colour
	Deployment *bluegreen.ColourStatus
	Target     bool
}

// steps are the steps of a cutover that goes well, in order.
var steps = []bluegreen.Step{bluegreen.StepGate, bluegreen.StepRollout, bluegreen.StepPreCutover, bluegreen.StepSwitch, bluegreen.StepKeep, bluegreen.StepDone}

// CutoverSteps are cutover a's steps as its stepper shows them: those
// passed, the one it is at (or stopped at), those to come, and how it
// ended when it did not end well. Without a pre-cutover Job there is no
// such step.
func (p *page) CutoverSteps(a *bluegreen.Attempt) []stepView {
	reached, stopped := -1, false
	if i := slices.Index(steps, a.Step); i >= 0 {
		reached = i
	} else {
		// Aborted, switched back, rolled back, superseded: stopped at the
		// last step it recorded before.
		stopped = true
		for _, e := range a.Events {
			if i := slices.Index(steps, e.Step); i > reached {
				reached = i
			}
		}
	}
	var out []stepView
	for i, s := range steps {
		if s == bluegreen.StepPreCutover && a.Job == "" {
			continue
		}
		v := stepView{Step: s, State: "todo"}
		switch {
		case i < reached, i == reached && s == bluegreen.StepDone, i == reached && a.Step == bluegreen.StepRolledBack:
			v.State = "done"
		case i == reached && a.Failed():
			v.State = "stopped"
		case i == reached && stopped:
			v.State = "interrupted"
		case i == reached:
			v.State = "current"
		}
		out = append(out, v)
	}
	switch {
	case a.Failed():
		out = append(out, stepView{Step: a.Step, State: "failed"})
	case stopped:
		out = append(out, stepView{Step: a.Step, State: "halted"})
	}
	return out
}

// stepView is a step of a cutover and where the cutover is with it:
// done, current, todo, stopped (where it failed), interrupted (where a
// newer commit took over); then how it ended when
// it did not go through: failed (aborted, switched back) or halted
// (rolled back, superseded: someone or something newer decided).
type stepView struct {
	Step  bluegreen.Step
	State string
}

// CutoverTone is the tone of a cutover's phase.
func (p *page) CutoverTone(phase string) string {
	switch phase {
	case bluegreen.PhaseSucceeded:
		return "ok"
	case bluegreen.PhaseProgressing:
		return "info"
	case bluegreen.PhaseHeld, bluegreen.PhaseRolledBack, bluegreen.PhaseSuperseded:
		return "warn"
	case bluegreen.PhaseFailed:
		return "bad"
	}
	return "grey"
}
