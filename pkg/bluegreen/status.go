package bluegreen

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Status is a blue/green installation's state as the status API, the
// command line, the status page and the pull request comment show it.
type Status struct {
	// Live is the colour the Services select; empty while a plain
	// Deployment serves.
	Live       Colour `json:"live,omitempty"`
	LiveCommit string `json:"liveCommit,omitempty"`
	// Idle is the other colour.
	Idle    Colour         `json:"idle"`
	Colours []ColourStatus `json:"colours"`
	// Phase and Step are those of the cutover under way or the last one.
	Phase   string      `json:"phase,omitempty"`
	Step    Step        `json:"step,omitempty"`
	Cutover *Attempt    `json:"cutover,omitempty"`
	Held    *RolledBack `json:"rolledBack,omitempty"`
}

// ColourStatus is one colour's Deployment.
type ColourStatus struct {
	Colour      Colour       `json:"colour"`
	Deployment  string       `json:"deployment"`
	Live        bool         `json:"live,omitempty"`
	Commit      string       `json:"commit,omitempty"`
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
	// Replicas is the size gitopsd wants; Ready the ready replicas seen at
	// the end of the last reconcile.
	Replicas  int32      `json:"replicas"`
	Ready     int32      `json:"ready"`
	KeepUntil *time.Time `json:"keepUntil,omitempty"`
}

// Phases of a cutover, as Status.Phase says them.
const (
	PhaseProgressing = "Progressing"
	PhaseHeld        = "Held"
	PhaseSucceeded   = "Succeeded"
	PhaseFailed      = "Failed"
	PhaseRolledBack  = "RolledBack"
	PhaseSuperseded  = "Superseded"
)

// phaseOf says where attempt a is in a word.
func phaseOf(a *Attempt) string {
	switch a.Step {
	case StepGate:
		return PhaseHeld
	case StepSwitch:
		if a.Reason != "" {
			return PhaseHeld
		}
		return PhaseProgressing
	case StepRollout, StepPreCutover:
		return PhaseProgressing
	case StepKeep, StepDone:
		return PhaseSucceeded
	case StepAborted, StepSwitchedBack:
		return PhaseFailed
	case StepRolledBack:
		return PhaseRolledBack
	case StepSuperseded:
		return PhaseSuperseded
	}
	return ""
}

// statusOf builds the status of st; ready maps each colour to its ready
// replicas.
func statusOf(spec Spec, st *State, ready map[Colour]int32) *Status {
	s := &Status{Live: st.Live, Idle: st.Live.Other(), Held: st.RolledBack}
	if a := st.Attempt; a != nil {
		copied := *a
		copied.Events = append([]Event(nil), a.Events...)
		s.Cutover, s.Phase, s.Step = &copied, phaseOf(a), a.Step
		if a.Active() {
			s.Idle = a.To
		}
	}
	for _, c := range Colours {
		v := st.version(c)
		if v == nil {
			continue
		}
		cs := ColourStatus{Colour: c, Deployment: ColouredName(spec.Deployment, c), Live: c == st.Live,
			Commit: v.Commit, PullRequest: v.PullRequest, Replicas: v.Replicas, Ready: ready[c], KeepUntil: v.KeepUntil}
		if cs.Live {
			s.LiveCommit = v.Commit
		}
		s.Colours = append(s.Colours, cs)
	}
	return s
}

// readyReplicas reads the ready replicas of the colours' Deployments in one
// list.
func (c *Cutover) readyReplicas(ctx context.Context, namespace, installation string) map[Colour]int32 {
	list, err := c.client.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{LabelSelector: labelInstallation + "=" + installation + "," + LabelColour})
	if err != nil {
		return nil
	}
	out := map[Colour]int32{}
	for i := range list.Items {
		d := &list.Items[i]
		out[Colour(d.Labels[LabelColour])] = d.Status.ReadyReplicas
	}
	return out
}
