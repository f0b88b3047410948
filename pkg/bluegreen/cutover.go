package bluegreen

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/schedule"
	"k8s.io/client-go/kubernetes"
)

// Gate finds the pull request merged into base whose merge commit is sha;
// github.Client implements it.
type Gate interface {
	MergedPullRequest(ctx context.Context, sha, base string) (github.PullRequest, bool, error)
}

var _ Gate = (*github.Client)(nil)

// Applier applies a blue/green installation's objects and waits for their
// health, as the reconcile worker does for any installation (inventory,
// prune, drift tracking, status).
type Applier interface {
	// Apply applies objs and prunes what left them, but for keep.
	Apply(ctx context.Context, objs *render.ObjectSet, keep map[render.Key]string) (*apply.ChangeSet, error)
	// Wait waits until the objects of cs are healthy.
	Wait(ctx context.Context, cs *apply.ChangeSet) error
}

// Deps are what a Cutover works with.
type Deps struct {
	Client kubernetes.Interface
	// Store keeps the states.
	Store *Store
	// Gate, when nil, finds no merged pull request: with requireMergedPR
	// every cutover waits for `gitopsd promote`.
	Gate Gate
	// Reporter, when set, is told of every cutover's progress.
	Reporter Reporter
	Log      *slog.Logger
}

// Options tune a Cutover.
type Options struct {
	// Branch is the tracked branch, the base a gating pull request must
	// have been merged into.
	Branch string
	// Now is the clock of scale-down delays and sync windows; tests
	// replace it.
	Now func() time.Time
	// Poll is how often a colour's availability and a Job are looked at.
	Poll time.Duration
}

// DefaultOptions follow main and look every 100ms.
func DefaultOptions() Options {
	return Options{Branch: "main", Now: time.Now, Poll: 100 * time.Millisecond}
}

// Validate reports options a Cutover cannot run with.
func (o Options) Validate() error {
	var errs []error
	if o.Now == nil {
		errs = append(errs, errors.New("bluegreen options: Now is required"))
	}
	if o.Poll <= 0 {
		errs = append(errs, errors.New("bluegreen options: Poll must be positive"))
	}
	return errors.Join(errs...)
}

// Cutover drives the blue/green installations: the reconcile worker of each
// calls Reconcile, one call at a time per installation, with the render of
// its commit. It is safe for concurrent use by different installations.
type Cutover struct {
	client   kubernetes.Interface
	store    *Store
	gate     Gate
	reporter Reporter
	log      *slog.Logger
	opts     Options
}

// New returns a Cutover.
func New(deps Deps, opts Options) (*Cutover, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if deps.Client == nil || deps.Store == nil {
		return nil, errors.New("bluegreen: Client and Store are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Cutover{client: deps.Client, store: deps.Store, gate: deps.Gate, reporter: deps.Reporter, log: deps.Log, opts: opts}, nil
}

// Command is an operator's request about a cutover.
type Command string

const (
	// Promote releases a cutover held by the gate, by autoPromote: false
	// or by a rollback, and tries a failed one again.
	Promote Command = "promote"
	// Rollback switches the traffic back to the other colour (scaled up
	// first if it was scaled down) and holds the installation there until
	// a commit brings another template; a cutover under way is stopped.
	Rollback Command = "rollback"
)

// Input is one reconcile of a blue/green installation.
type Input struct {
	Installation string
	// Namespace is where namespaced objects without one go.
	Namespace string
	Spec      Spec
	// Commit is the commit rendered; Applied the last one the
	// installation fully applied.
	Commit, Applied string
	Objects         *render.ObjectSet
	// Timeout bounds each wait: the idle colour's availability, the Job.
	Timeout time.Duration
	Windows schedule.Windows
	// Command, when set, is done first; its outcome is Result.Reply.
	Command Command
	Applier Applier
	// Observe, when set, is told the status at each step.
	Observe func(Status)
}

// Outcome is how a reconcile of a blue/green installation ended.
type Outcome string

const (
	// Ready: applied and healthy; a cutover, if any, has switched.
	Ready Outcome = "Ready"
	// Held: a cutover waits for the gate, a sync window, a promote, or a
	// rollback holds the installation.
	Held Outcome = "Held"
	// Failed: see Result.Err.
	Failed Outcome = "Failed"
	// Interrupted: the context ended (a newer commit, a command, shutdown)
	// before the reconcile did; the state says where to resume.
	Interrupted Outcome = "Interrupted"
)

// Result is the outcome of one Reconcile.
type Result struct {
	Outcome Outcome
	Message string
	// Err is why it failed; Terminal says a retry of the same commit cannot
	// help (an aborted cutover, a blueGreen block that does not fit).
	Err      error
	Terminal bool
	// ChangeSet is what the applies of the reconcile did, merged (see
	// merged); nil when nothing was applied.
	ChangeSet *apply.ChangeSet
	// Next, when not zero, is when to reconcile again at the latest: a
	// scale-down or the end of a sync window.
	Next time.Time
	// HeldUntil is when a sync window next lets the switch happen.
	HeldUntil time.Time
	// Reply answers Input.Command: nil when done.
	Reply error
	// Status is the installation's blue/green state after the reconcile.
	Status *Status
}

// Forget deletes the state of an installation removed from gitopsd.yaml.
func (c *Cutover) Forget(ctx context.Context, installation string) error {
	return c.store.Delete(ctx, installation)
}
