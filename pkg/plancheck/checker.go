package plancheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// GitHub is what the checker needs of GitHub; github.Client implements it.
type GitHub interface {
	SetStatus(ctx context.Context, st github.Status) (bool, error)
	UpsertComment(ctx context.Context, number int, key, text string) (github.Comment, error)
	FindComment(ctx context.Context, number int, key string) (github.Comment, bool, error)
	OpenPullRequests(ctx context.Context, base string) ([]github.PullRequest, error)
}

// Fetcher fetches a ref of the tracked repository by commit;
// source.Poller implements it.
type Fetcher interface {
	FetchRef(ctx context.Context, ref, commit string) (source.Snapshot, error)
}

// Base holds the tracked branch's newest snapshot; source.Poller
// implements it.
type Base interface {
	Latest() (source.Snapshot, bool)
}

// Planner plans a commit; plan.Planner implements it.
type Planner interface {
	Plan(ctx context.Context, req plan.Request) (*plan.Plan, error)
}

var (
	_ GitHub                    = (*github.Client)(nil)
	_ Fetcher                   = (*source.Poller)(nil)
	_ Base                      = (*source.Poller)(nil)
	_ Planner                   = (*plan.Planner)(nil)
	_ github.PullRequestHandler = (*Checker)(nil)
)

// Options configure a Checker. Start from DefaultOptions.
type Options struct {
	// Branch is the tracked branch: pull requests into it are planned.
	Branch string
	// Repository is the tracked repository's URL (without credentials),
	// for the command the comment offers to see a whole plan.
	Repository string
	// Source is the repository and ref the daemon applies (see
	// plan.Request.Source): installations another source owns are refused.
	Source string
	// Cluster, when set, names the cluster in the status context
	// (gitopsd/plan/CLUSTER), the comment's key and its title, so that the
	// daemons of two clusters report apart.
	Cluster string
	// ExternalURL is where this daemon is reachable; statuses link to the
	// pull request's plan page there (EXTERNAL_URL/plans/N), and a comment
	// too long for GitHub points to it.
	ExternalURL string
	// PlanForks plans pull requests whose head is in another repository.
	PlanForks bool
	// Interval is how often the open pull requests are listed.
	Interval time.Duration
	// Workers is how many pull requests are planned at once.
	Workers int
	// Timeout bounds one plan, from fetch to the last post.
	Timeout time.Duration
}

// DefaultOptions list open pull requests every minute and plan two at once.
func DefaultOptions() Options {
	return Options{Interval: time.Minute, Workers: 2, Timeout: 10 * time.Minute}
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.Branch == "" {
		errs = append(errs, errors.New("plan checks: no tracked branch"))
	}
	if o.Interval <= 0 || o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("plan checks: interval %s and timeout %s must be positive", o.Interval, o.Timeout))
	}
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("plan checks: workers %d must be at least 1", o.Workers))
	}
	if strings.ContainsAny(o.Cluster, " \t\r\n>") || strings.Contains(o.Cluster, "--") {
		errs = append(errs, fmt.Errorf("plan checks: cluster name %q: no spaces, \">\" or \"--\"", o.Cluster))
	}
	if o.ExternalURL != "" && !strings.HasPrefix(o.ExternalURL, "https://") && !strings.HasPrefix(o.ExternalURL, "http://") {
		errs = append(errs, fmt.Errorf("plan checks: external URL %q: want http:// or https://", o.ExternalURL))
	}
	return errors.Join(errs...)
}

// StatusContext is the commit status context: gitopsd/plan, or
// gitopsd/plan/CLUSTER.
func (o Options) StatusContext() string { return suffixed("gitopsd/plan", o.Cluster) }

// commentKey finds this cluster's comment among a pull request's.
func (o Options) commentKey() string { return suffixed("plan", o.Cluster) }

func suffixed(s, cluster string) string {
	if cluster == "" {
		return s
	}
	return s + "/" + cluster
}

// Deps are what a Checker works with.
type Deps struct {
	GitHub  GitHub
	Fetcher Fetcher
	Base    Base
	// Planner plans pull requests of the tracked repository; ForkPlanner
	// those from forks, when Options.PlanForks: its renderer must allow no
	// remote bases and no Helm, whatever the daemon's own settings.
	Planner, ForkPlanner Planner
	// Metrics may be nil.
	Metrics *Metrics
	// Log may be nil.
	Log *slog.Logger
}

// Checker plans the pull requests of one repository against one cluster
// and reports on GitHub. Plan, Forget, Pulls and Pull may be called from
// any goroutine; Run once.
type Checker struct {
	opts Options
	deps Deps
	log  *slog.Logger

	wake chan struct{} // a pull request was queued

	mu    sync.Mutex // guards the fields below
	pulls map[int]*pull
	queue []int // numbers of pull requests waiting for a worker, oldest first
}

// New checks opts and deps; it does no I/O.
func New(opts Options, deps Deps) (*Checker, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.GitHub == nil, deps.Fetcher == nil, deps.Base == nil, deps.Planner == nil:
		return nil, errors.New("plan checks: GitHub, fetcher, base and planner are required")
	case opts.PlanForks && deps.ForkPlanner == nil:
		return nil, errors.New("plan checks: planning forks needs a fork planner")
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics()
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{
		opts:  opts,
		deps:  deps,
		log:   log.With(logkey.StatusContext, opts.StatusContext()),
		wake:  make(chan struct{}, 1),
		pulls: map[int]*pull{},
	}, nil
}
