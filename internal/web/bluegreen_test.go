package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// checkoutCutover is a blue/green installation that has switched to green
// from a merged pull request and keeps blue warm for an hour.
func checkoutCutover(now time.Time) reconcile.InstallationStatus {
	at := func(d time.Duration) time.Time { return now.Add(d) }
	keep := at(time.Hour)
	oldC, newC := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	pr := &bluegreen.PullRequest{Number: 42, URL: "https://github.com/example/fleet/pull/42"}
	events := []bluegreen.Event{
		{Step: bluegreen.StepRollout, At: at(-50 * time.Second), Message: "merged pull request #42: rolling out green at 3 replicas"},
		{Step: bluegreen.StepPreCutover, At: at(-30 * time.Second), Message: "green is available (3/3): running Job checkout-migrate-4"},
		{Step: bluegreen.StepSwitch, At: at(-12 * time.Second), Message: "Job checkout-migrate-4 complete: switching Service checkout to green"},
		{Step: bluegreen.StepKeep, At: at(-11 * time.Second), Message: "green is live; blue kept until " + keep.UTC().Format(time.RFC3339)},
	}
	return reconcile.InstallationStatus{Name: "storefront", Path: "apps/storefront", Phase: reconcile.Ready, Message: "green is live",
		SourceCommit: newC, AppliedCommit: newC,
		BlueGreen: &bluegreen.Status{Live: bluegreen.Green, LiveCommit: newC, Idle: bluegreen.Blue, Phase: bluegreen.PhaseSucceeded, Step: bluegreen.StepKeep,
			Colours: []bluegreen.ColourStatus{
				{Colour: bluegreen.Blue, Deployment: "checkout-blue", Commit: oldC, Replicas: 3, Ready: 3, KeepUntil: &keep},
				{Colour: bluegreen.Green, Deployment: "checkout-green", Live: true, Commit: newC, PullRequest: pr, Replicas: 3, Ready: 3},
			},
			Cutover: &bluegreen.Attempt{Number: 4, Commit: newC, PullRequest: pr, From: bluegreen.Blue, To: bluegreen.Green, Step: bluegreen.StepKeep,
				Job: "checkout-migrate-4", Events: events}}}
}

// TestInstallationPageShowsTheCutover renders a blue/green installation's
// colours, which is live, their commits and ready replicas, and the
// cutover's steps and timeline; a plain installation has no such section.
func TestInstallationPageShowsTheCutover(t *testing.T) {
	now := time.Now()
	s := sampleStatus(now)
	s.Installations = append(s.Installations, checkoutCutover(now))
	srv := serve(t, s)

	_, _, page := get(t, srv.URL+"/installations/storefront")
	mustContain(t, "storefront's page", page,
		`<section class="card" id="bluegreen">`,
		`<span class="badge tone-ok" data-cutover="Succeeded">Succeeded</span>`, "green is live",
		`<div class="colour colour-green is-live" data-colour="green">`,
		`<strong>green</strong><span class="badge tone-ok">live</span>`,
		`<strong>blue</strong><span class="badge">idle</span>`,
		"<code>checkout-blue</code>", "<code>checkout-green</code>",
		`<span class="ready">3/3</span>`,
		`href="https://github.com/example/fleet/commit/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"`,
		`<a href="https://github.com/example/fleet/pull/42">#42</a>`,
		"<dt>Kept for rollback until</dt><dd><time", "in 1h00m",
		"Cutover #4 from blue to green",
		`<li class="step step-done" data-step="Gate">Gate</li>`,
		`<li class="step step-done" data-step="PreCutover">PreCutover</li>`,
		`<li class="step step-current" data-step="Keep">Keep</li>`,
		`<li class="step step-todo" data-step="Done">Done</li>`,
		"switching Service checkout to green", "running Job checkout-migrate-4",
	)
	_, _, fleet := get(t, srv.URL+"/")
	mustContain(t, "the fleet page", fleet, `<div class="small live-colour colour-green"><span class="swatch"></span>green live</div>`)
	_, _, shop := get(t, srv.URL+"/installations/shop")
	if strings.Contains(shop, `id="bluegreen"`) {
		t.Error("an installation without blueGreen shows a blue/green section")
	}
}

// TestCutoverSteps: where a cutover is, in its stepper.
func TestCutoverSteps(t *testing.T) {
	events := func(steps ...bluegreen.Step) []bluegreen.Event {
		var out []bluegreen.Event
		for _, s := range steps {
			out = append(out, bluegreen.Event{Step: s})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		a    bluegreen.Attempt
		want string
	}{
		{"held at the gate", bluegreen.Attempt{Step: bluegreen.StepGate, Job: "j", Events: events(bluegreen.StepGate)},
			"Gate:current Rollout:todo PreCutover:todo Switch:todo Keep:todo Done:todo"},
		{"rolling out, no Job", bluegreen.Attempt{Step: bluegreen.StepRollout, Events: events(bluegreen.StepRollout)},
			"Gate:done Rollout:current Switch:todo Keep:todo Done:todo"},
		{"done", bluegreen.Attempt{Step: bluegreen.StepDone, Job: "j"},
			"Gate:done Rollout:done PreCutover:done Switch:done Keep:done Done:done"},
		{"aborted in the Job", bluegreen.Attempt{Step: bluegreen.StepAborted, Job: "j", Events: events(bluegreen.StepRollout, bluegreen.StepPreCutover, bluegreen.StepAborted)},
			"Gate:done Rollout:done PreCutover:stopped Switch:todo Keep:todo Done:todo Aborted:failed"},
		{"switched back", bluegreen.Attempt{Step: bluegreen.StepSwitchedBack, Events: events(bluegreen.StepRollout, bluegreen.StepSwitch, bluegreen.StepKeep, bluegreen.StepSwitchedBack)},
			"Gate:done Rollout:done Switch:done Keep:stopped Done:todo SwitchedBack:failed"},
		{"rolled back", bluegreen.Attempt{Step: bluegreen.StepRolledBack, Job: "j", Events: events(bluegreen.StepGate, bluegreen.StepRollout, bluegreen.StepPreCutover, bluegreen.StepSwitch, bluegreen.StepKeep, bluegreen.StepRolledBack)},
			"Gate:done Rollout:done PreCutover:done Switch:done Keep:done Done:todo RolledBack:halted"},
		{"superseded", bluegreen.Attempt{Step: bluegreen.StepSuperseded, Events: events(bluegreen.StepRollout, bluegreen.StepSuperseded)},
			"Gate:done Rollout:interrupted Switch:todo Keep:todo Done:todo Superseded:halted"},
	} {
		var got []string
		for _, s := range (&page{}).CutoverSteps(&tc.a) {
			got = append(got, fmt.Sprintf("%s:%s", s.Step, s.State))
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, g, tc.want)
		}
	}
}
