package bluegreen

import (
	"encoding/json"
	"time"
)

// State is a blue/green installation's state, kept in the cluster (see
// Store) so that a restarted or failed-over replica resumes a cutover at
// the step where the last one stopped. It is a value: the cutover reads
// it, decides, saves the next one and only then acts on the cluster.
type State struct {
	// Live is the colour the Services select. It is empty before the
	// first apply, and while a plain Deployment serves because blueGreen
	// was turned on for an installation that had one.
	Live Colour `json:"live,omitempty"`
	// Previous is the colour the last switch took the traffic from.
	Previous Colour `json:"previous,omitempty"`
	// Versions say what each colour runs; a colour never created has none.
	Versions map[Colour]*Version `json:"versions,omitempty"`
	// Attempt is the cutover under way, or the last one.
	Attempt *Attempt `json:"attempt,omitempty"`
	// Attempts counts the cutovers started: each has its number.
	Attempts int `json:"attempts,omitempty"`
	// RolledBack holds the installation at Live after `gitopsd rollback`.
	RolledBack *RolledBack `json:"rolledBack,omitempty"`

	// resourceVersion of the stored ConfigMap, for optimistic concurrency.
	resourceVersion string
}

// Version is what one colour runs.
type Version struct {
	// Commit is the commit whose template the colour runs.
	Commit      string       `json:"commit"`
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
	// Template is the Deployment as rendered, without spec.replicas and
	// status; Digest identifies it.
	Template json.RawMessage `json:"template"`
	Digest   string          `json:"digest"`
	// Replicas is the colour's desired size: zero once scaled down.
	Replicas int32 `json:"replicas"`
	// KeepUntil is when the colour that lost the traffic is scaled to
	// zero; nil for the live colour and a colour already scaled down.
	KeepUntil *time.Time `json:"keepUntil,omitempty"`
}

// PullRequest is the merged pull request a commit came from.
type PullRequest struct {
	Number int    `json:"number"`
	URL    string `json:"url,omitempty"`
}

// Step is where a cutover is.
type Step string

// The steps of a cutover, in order, and how it may end.
const (
	// StepGate waits for the commit to be found as a merged pull
	// request's, or for `gitopsd promote`.
	StepGate Step = "Gate"
	// StepRollout gives the idle colour the new template at the live
	// colour's size and waits until it is fully available.
	StepRollout Step = "Rollout"
	// StepPreCutover runs the pre-cutover Job and waits for it.
	StepPreCutover Step = "PreCutover"
	// StepSwitch switches the Services, once a sync window and (without
	// autoPromote) `gitopsd promote` let it.
	StepSwitch Step = "Switch"
	// StepKeep has switched; the old colour stays at full size until its
	// KeepUntil.
	StepKeep Step = "Keep"
	// StepDone has scaled the old colour to zero.
	StepDone Step = "Done"
	// StepAborted failed before the switch: the live colour was never
	// touched, the idle colour is scaled to zero.
	StepAborted Step = "Aborted"
	// StepSwitchedBack switched, then the new colour became unavailable
	// while the old one was kept: the traffic went back to the old one.
	StepSwitchedBack Step = "SwitchedBack"
	// StepRolledBack was undone by `gitopsd rollback`.
	StepRolledBack Step = "RolledBack"
	// StepSuperseded gave way to a newer commit before its switch.
	StepSuperseded Step = "Superseded"
)

// Attempt is one cutover: moving the traffic to a new template.
type Attempt struct {
	Number      int          `json:"number"`
	Commit      string       `json:"commit"`
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
	// Digest is the template being cut over to.
	Digest string `json:"digest"`
	// From is the colour that served when the cutover began (empty: a
	// plain Deployment); To is the colour that takes over.
	From Colour `json:"from,omitempty"`
	To   Colour `json:"to"`
	Step Step   `json:"step"`
	// Promoted is set by `gitopsd promote`: it releases the gate and the
	// wait of autoPromote: false.
	Promoted bool `json:"promoted,omitempty"`
	// Reason says why the cutover waits or how it failed.
	Reason string `json:"reason,omitempty"`
	// Job is the name of this cutover's pre-cutover Job.
	Job string `json:"job,omitempty"`
	// Events is the timeline, oldest first.
	Events []Event `json:"events"`
}

// Event is one entry of a cutover's timeline.
type Event struct {
	Step    Step      `json:"step"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// RolledBack records a `gitopsd rollback`: no cutover to the template
// rolled back from starts again until a commit brings another template or
// someone runs `gitopsd promote`.
type RolledBack struct {
	Digest string    `json:"digest"`
	Commit string    `json:"commit"`
	At     time.Time `json:"at"`
}

// Active reports whether the cutover has not switched yet and goes on.
func (a *Attempt) Active() bool {
	if a == nil {
		return false
	}
	switch a.Step {
	case StepGate, StepRollout, StepPreCutover, StepSwitch:
		return true
	}
	return false
}

// Failed reports whether the cutover ended without its template serving.
func (a *Attempt) Failed() bool {
	return a != nil && (a.Step == StepAborted || a.Step == StepSwitchedBack)
}

// record moves the attempt to step with a timeline entry.
func (a *Attempt) record(step Step, at time.Time, message string) {
	a.Step = step
	a.Events = append(a.Events, Event{Step: step, At: at, Message: message})
	if len(a.Events) > maxEvents {
		a.Events = append(a.Events[:1], a.Events[len(a.Events)-maxEvents+1:]...)
	}
}

// maxEvents bounds a timeline: a cutover held for long may be looked at
// often, but only changes are recorded.
const maxEvents = 50

// version returns the version of colour c, or nil.
func (s *State) version(c Colour) *Version {
	if c == "" || s.Versions == nil {
		return nil
	}
	return s.Versions[c]
}

func (s *State) setVersion(c Colour, v *Version) {
	if s.Versions == nil {
		s.Versions = map[Colour]*Version{}
	}
	s.Versions[c] = v
}

// clone returns a deep copy, so that a decision never changes the state
// it was made from.
func (s *State) clone() *State {
	data, _ := json.Marshal(s)
	var out State
	_ = json.Unmarshal(data, &out)
	out.resourceVersion = s.resourceVersion
	return &out
}
