package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// Reporter is told of every change of a cutover. Report must not block:
// the cutover does not wait for GitHub.
type Reporter interface {
	Report(installation string, spec Spec, a Attempt)
}

// GitHub is what the reporter needs of GitHub; github.Client implements
// it.
type GitHub interface {
	SetStatus(ctx context.Context, st github.Status) (bool, error)
	UpsertComment(ctx context.Context, number int, key, text string) (github.Comment, error)
}

var _ GitHub = (*github.Client)(nil)

// ReporterOptions tune a GitHubReporter.
type ReporterOptions struct {
	// Cluster, when set, is appended to the status context
	// (gitopsd/cutover/CLUSTER) and the comment's key, so that two
	// clusters cutting over one commit report apart.
	Cluster string
	// ExternalURL, when set, is where the daemon's status pages are: the
	// status links to the installation's.
	ExternalURL string
	// Timeout bounds the writes of one report.
	Timeout time.Duration
}

// DefaultReporterOptions report without a cluster name or link.
func DefaultReporterOptions() ReporterOptions { return ReporterOptions{Timeout: 30 * time.Second} }

// Validate reports options a GitHubReporter cannot run with.
func (o ReporterOptions) Validate() error {
	var errs []error
	if o.Timeout <= 0 {
		errs = append(errs, errors.New("bluegreen reporter options: Timeout must be positive"))
	}
	if o.ExternalURL != "" {
		if u, err := url.Parse(o.ExternalURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("bluegreen reporter options: ExternalURL %q is not an absolute URL", o.ExternalURL))
		}
	}
	return errors.Join(errs...)
}

// StatusContext is the commit status context: gitopsd/cutover, or
// gitopsd/cutover/CLUSTER.
func (o ReporterOptions) StatusContext() string { return suffixed("gitopsd/cutover", o.Cluster) }

// commentKey finds an installation's cutover comment on a pull request.
func (o ReporterOptions) commentKey(installation string) string {
	return suffixed("cutover/"+installation, o.Cluster)
}

func suffixed(s, cluster string) string {
	if cluster == "" {
		return s
	}
	return s + "/" + cluster
}

// GitHubReporter reports cutovers back to GitHub: a commit status on the
// commit cut over (pending while the cutover runs, then success or
// failure) and, when a merged pull request made the commit, one comment
// on it with the timeline, edited in place as the cutover goes on. Reports
// queue without blocking; only the newest of an installation is sent, as
// each carries the whole timeline.
type GitHubReporter struct {
	gh   GitHub
	log  *slog.Logger
	opts ReporterOptions

	mu      sync.Mutex
	pending map[string]report // by installation
	order   []string          // installations in the order they reported
	wake    chan struct{}
}

var _ Reporter = (*GitHubReporter)(nil)

type report struct {
	installation string
	spec         Spec
	attempt      Attempt
}

// NewGitHubReporter returns a reporter writing through gh; Run sends.
func NewGitHubReporter(gh GitHub, log *slog.Logger, opts ReporterOptions) (*GitHubReporter, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if gh == nil {
		return nil, errors.New("bluegreen reporter: GitHub is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GitHubReporter{gh: gh, log: log, opts: opts, pending: map[string]report{}, wake: make(chan struct{}, 1)}, nil
}

// Report queues attempt a of installation; it never blocks.
func (r *GitHubReporter) Report(installation string, spec Spec, a Attempt) {
	a.Events = append([]Event(nil), a.Events...)
	r.mu.Lock()
	if _, queued := r.pending[installation]; !queued {
		r.order = append(r.order, installation)
	}
	r.pending[installation] = report{installation: installation, spec: spec, attempt: a}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run sends the queued reports until ctx ends. A report that fails is
// logged and dropped: the next change of the cutover sends it all again.
func (r *GitHubReporter) Run(ctx context.Context) error {
	for {
		for {
			rep, ok := r.next()
			if !ok {
				break
			}
			r.send(ctx, rep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		}
	}
}

func (r *GitHubReporter) next() (report, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.order) == 0 {
		return report{}, false
	}
	name := r.order[0]
	r.order = r.order[1:]
	rep := r.pending[name]
	delete(r.pending, name)
	return rep, true
}

// send writes the status and the comment of one report.
func (r *GitHubReporter) send(ctx context.Context, rep report) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	a := rep.attempt
	state, headline := outcomeOf(&a)
	st := github.Status{SHA: a.Commit, Context: r.opts.StatusContext(), State: state,
		Description: rep.installation + ": " + headline, TargetURL: r.link(rep.installation)}
	if _, err := r.gh.SetStatus(ctx, st); err != nil {
		r.log.Error("cannot report a cutover's status", logkey.Installation, rep.installation, logkey.Commit, a.Commit, logkey.Error, err)
	}
	if a.PullRequest == nil || a.PullRequest.Number == 0 {
		return
	}
	text := CommentMarkdown(rep.installation, r.opts.Cluster, rep.spec, &a)
	if _, err := r.gh.UpsertComment(ctx, a.PullRequest.Number, r.opts.commentKey(rep.installation), text); err != nil {
		r.log.Error("cannot report a cutover on its pull request", logkey.Installation, rep.installation, logkey.PullRequest, a.PullRequest.Number, logkey.Error, err)
	}
}

func (r *GitHubReporter) link(installation string) string {
	if r.opts.ExternalURL == "" {
		return ""
	}
	return strings.TrimRight(r.opts.ExternalURL, "/") + "/installations/" + url.PathEscape(installation)
}

// outcomeOf is the commit status of attempt a and a headline saying why.
func outcomeOf(a *Attempt) (github.State, string) {
	why := a.Reason // what it waits for, or how it ended
	if n := len(a.Events); why == "" && n > 0 {
		why = a.Events[n-1].Message
	}
	switch a.Step {
	case StepKeep, StepDone:
		return github.Success, fmt.Sprintf("switched to %s (cutover #%d)", a.To, a.Number)
	case StepAborted, StepSwitchedBack, StepRolledBack:
		return github.Failure, why
	case StepSuperseded:
		return github.Error, why
	}
	return github.Pending, why
}

// CommentMarkdown is the pull request comment of attempt a: the outcome,
// then the timeline.
func CommentMarkdown(installation, cluster string, spec Spec, a *Attempt) string {
	var b strings.Builder
	title := "gitopsd cutover of `" + installation + "`"
	if cluster != "" {
		title += " on " + cluster
	}
	state, headline := outcomeOf(a)
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "**%s**: %s\n\n", commentState(state, a), mdEscape(headline))
	from := "a plain Deployment"
	if a.From != "" {
		from = "`" + ColouredName(spec.Deployment, a.From) + "`"
	}
	fmt.Fprintf(&b, "Cutover #%d of commit `%s` from %s to `%s`.\n\n", a.Number, logkey.ShortSHA(a.Commit), from, ColouredName(spec.Deployment, a.To))
	b.WriteString("| time (UTC) | step | what happened |\n|---|---|---|\n")
	for _, e := range a.Events {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04:05"), e.Step, mdEscape(e.Message))
	}
	return b.String()
}

func commentState(state github.State, a *Attempt) string {
	switch state {
	case github.Success:
		return "Switched"
	case github.Failure:
		return string(a.Step)
	case github.Error:
		return "Superseded"
	}
	return "In progress (" + string(a.Step) + ")"
}

// mdEscape keeps a message on its table row.
func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}
