package web

import (
	"time"

	"github.com/gitopsd/gitopsd/pkg/plancheck"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// Status is the daemon's state: the body of GET /api/v1/installations, the
// rows of `gitopsd status` and the content of the pages.
type Status struct {
	// Leading is false on a standby replica, which applies nothing.
	Leading bool          `json:"leading"`
	Source  *SourceStatus `json:"source,omitempty"`
	reconcile.Status
	// PullRequests are the plan checks of open pull requests; nil when
	// the daemon does not plan them.
	PullRequests *PullRequests `json:"pullRequests,omitempty"`
}

// PullRequests are the open pull requests and their plan checks, without
// the plans: the body of GET /api/v1/plans.
type PullRequests struct {
	// Context is the commit status context the checks are posted under.
	Context string           `json:"context"`
	Pulls   []plancheck.Pull `json:"pulls"`
}

// SourceStatus is the repository the daemon follows, and how its polls go.
type SourceStatus struct {
	URL                 string     `json:"url"`
	Ref                 string     `json:"ref"`
	Commit              string     `json:"commit,omitempty"`
	LastSuccess         *time.Time `json:"lastSuccess,omitempty"`
	LastError           string     `json:"lastError,omitempty"`
	LastErrorTime       *time.Time `json:"lastErrorTime,omitempty"`
	ConsecutiveFailures int        `json:"consecutiveFailures,omitempty"`
	// FailingSince is when the first of the failed rounds began.
	FailingSince *time.Time `json:"failingSince,omitempty"`
	// PollingSince is when the look at the repository under way began.
	PollingSince *time.Time `json:"pollingSince,omitempty"`
	NextPoll     *time.Time `json:"nextPoll,omitempty"`
}

// NewSourceStatus reads a poller's status; zero times are left out.
func NewSourceStatus(s source.Status) *SourceStatus {
	out := &SourceStatus{URL: s.URL, Ref: s.Ref, Commit: s.Commit, ConsecutiveFailures: s.ConsecutiveFailures,
		LastSuccess: timeOrNil(s.LastSuccess), FailingSince: timeOrNil(s.FailingSince),
		PollingSince: timeOrNil(s.PollingSince), NextPoll: timeOrNil(s.NextPoll)}
	if s.LastError != nil {
		out.LastError = s.LastError.Error()
		out.LastErrorTime = timeOrNil(s.LastErrorTime)
	}
	return out
}

// Installation returns the installation called name.
func (s *Status) Installation(name string) (reconcile.InstallationStatus, bool) {
	for _, in := range s.Installations {
		if in.Name == name {
			return in, true
		}
	}
	return reconcile.InstallationStatus{}, false
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
