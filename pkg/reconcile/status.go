package reconcile

import (
	"errors"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// Phase summarises an installation's state.
type Phase string

const (
	// Progressing: a reconcile is under way.
	Progressing Phase = "Progressing"
	// Ready: the last reconcile applied every object and all are healthy.
	Ready Phase = "Ready"
	// Failed: the last reconcile failed, or applied objects are missing
	// (deleted and not put back: drift held or only reported); see
	// LastError, NotReady and NextRetry.
	Failed Phase = "Failed"
	// Held: a change waits for a sync window.
	Held Phase = "Held"
)

// Status is the reconciler's view of the repository and its installations.
type Status struct {
	// Commit is the latest commit whose gitopsd.yaml was read.
	Commit string `json:"commit,omitempty"`
	// ConfigError is set while the latest commit's gitopsd.yaml is invalid
	// or missing; installations keep following the last valid one.
	ConfigError string `json:"configError,omitempty"`
	// Cluster is set while the API server does not answer.
	Cluster *ClusterStatus `json:"cluster,omitempty"`
	// DriftError is set when drift detection stopped.
	DriftError    string               `json:"driftError,omitempty"`
	Installations []InstallationStatus `json:"installations"`
}

// ClusterStatus is an outage of the API server.
type ClusterStatus struct {
	Error string `json:"error"`
	// Since is when the outage began: the first request that got no answer.
	Since *time.Time `json:"since"`
}

// InstallationStatus is one installation's state.
type InstallationStatus struct {
	Name              string         `json:"name"`
	Path              string         `json:"path"`
	Phase             Phase          `json:"phase"`
	Message           string         `json:"message,omitempty"`
	SourceCommit      string         `json:"sourceCommit,omitempty"`
	AppliedCommit     string         `json:"appliedCommit,omitempty"`
	LastApplyTime     *time.Time     `json:"lastApplyTime,omitempty"`
	LastApplyDuration string         `json:"lastApplyDuration,omitempty"`
	Objects           map[string]int `json:"objects,omitempty"`
	// LastApplyCommit is the commit of the last apply, which failed when it
	// is not AppliedCommit.
	LastApplyCommit string `json:"lastApplyCommit,omitempty"`
	// Changes is the last apply's ChangeSet, object by object, in apply
	// order followed by prunes, with each object's health as the apply's
	// health check saw it.
	Changes       []ObjectChange `json:"changes,omitempty"`
	NotReady      []NotReady     `json:"notReady,omitempty"`
	LastError     string         `json:"lastError,omitempty"`
	LastErrorTime *time.Time     `json:"lastErrorTime,omitempty"`
	NextRetry     *time.Time     `json:"nextRetry,omitempty"`
	// HeldUntil is when a sync window next lets changes apply.
	HeldUntil *time.Time `json:"heldUntil,omitempty"`
	// Drift lists the objects that differ from Git now.
	Drift []DriftStatus `json:"drift,omitempty"`
	// DriftProblems say what keeps drift of its objects from being seen:
	// kinds not watched and failing watches, with their causes.
	DriftProblems []string `json:"driftProblems,omitempty"`
	// BlueGreen is a blue/green installation's colours and cutover.
	BlueGreen *bluegreen.Status `json:"blueGreen,omitempty"`
}

// DriftStatus is one drifted object.
type DriftStatus struct {
	Object     string    `json:"object"`
	Deleted    bool      `json:"deleted,omitempty"`
	Fields     []string  `json:"fields,omitempty"`
	Managers   []string  `json:"managers,omitempty"`
	DetectedAt time.Time `json:"detectedAt"`
	Action     string    `json:"action"`
	Message    string    `json:"message,omitempty"`
}

func driftStatus(reports []drift.Report) []DriftStatus {
	var out []DriftStatus
	for _, r := range reports {
		out = append(out, DriftStatus{Object: r.Key.String(), Deleted: r.Deleted, Fields: r.Fields, Managers: r.Managers,
			DetectedAt: r.DetectedAt, Action: string(r.Action), Message: r.Message})
	}
	return out
}

// ObjectChange is what the last apply did to one object.
type ObjectChange struct {
	Object string `json:"object"`
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Health is the object's kstatus status (Current, InProgress, Failed,
	// ...) when the health check ended; empty when it is not in the cluster
	// or was not looked at (the check stopped at the first Failed object,
	// or a newer commit cut it short).
	Health        string `json:"health,omitempty"`
	HealthMessage string `json:"healthMessage,omitempty"`
}

// objectChanges lists the changes of cs with their health as seen by a
// health check that ended with waitErr; checked is false when there was
// none (the apply failed).
func objectChanges(cs *apply.ChangeSet, checked bool, waitErr error) []ObjectChange {
	named := map[render.Key]apply.NotReady{}
	allCurrent := checked && waitErr == nil
	var nr *apply.NotReadyError
	if checked && errors.As(waitErr, &nr) {
		for _, o := range nr.Objects {
			named[o.Key] = o
		}
		// A timeout names every object not yet Current; a failure ends the
		// check at the first Failed object and says nothing of the others.
		allCurrent = !nr.Failed
	}
	out := make([]ObjectChange, len(cs.Changes))
	for i, c := range cs.Changes {
		out[i] = ObjectChange{Object: c.Key.String(), Action: string(c.Action), Reason: c.Reason}
		if o, ok := named[c.Key]; ok {
			out[i].Health, out[i].HealthMessage = o.Status.String(), o.Message
		} else if allCurrent && (c.Action == apply.Created || c.Action == apply.Configured || c.Action == apply.Unchanged) {
			out[i].Health = "Current"
		}
	}
	return out
}

// NotReady is an applied object that was not healthy when the wait ended.
type NotReady struct {
	Object  string `json:"object"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

func notReady(err *apply.NotReadyError) []NotReady {
	out := make([]NotReady, len(err.Objects))
	for i, o := range err.Objects {
		out[i] = NotReady{Object: o.Key.String(), Status: o.Status.String(), Message: o.Message}
	}
	return out
}

func actionCounts(cs *apply.ChangeSet) map[string]int {
	out := map[string]int{}
	for action, n := range cs.Counts() {
		out[string(action)] = n
	}
	return out
}

func timePtr(t time.Time) *time.Time { return &t }
