package plancheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/plan"
)

// outcome is what one plan check came to.
type outcome struct {
	state       State
	description string
	base        string
	summary     *plan.Summary
	plan        *plan.Plan
	comment     string
	// postError says why GitHub could not be told.
	postError string
	// superseded: cancelled for a newer head, a close or shutdown; it
	// posted nothing after the cancel.
	superseded bool
}

func (o outcome) label() string {
	switch {
	case o.superseded:
		return "superseded"
	case o.postError != "":
		return "unposted"
	}
	return string(o.state)
}

// check plans pr's head and reports on GitHub: pending, then the comment,
// then the final status, so that a final status always finds its comment.
// Once ctx is cancelled nothing more is posted.
func (c *Checker) check(ctx context.Context, pr github.PullRequest, since time.Time) outcome {
	log := c.log.With(logkey.PullRequest, pr.Number, logkey.HeadCommit, pr.HeadSHA)
	if pr.Fork() && !c.opts.PlanForks {
		log.Info("pull request from a fork not planned", logkey.HeadRepository, pr.HeadRepository)
		return outcome{state: Skipped, description: fmt.Sprintf("from a fork (%s): not planned unless --plan-fork-prs", orGone(pr.HeadRepository))}
	}
	st := github.Status{SHA: pr.HeadSHA, Context: c.opts.StatusContext(), TargetURL: c.planURL(pr.Number)}
	// The pending status goes out while the plan is made; the result waits
	// for it.
	pending := make(chan outcome, 1)
	go func() {
		out, ok := c.post(ctx, st, github.Pending, "planning against the live cluster")
		if ok {
			out.state = Planning
		}
		pending <- out
	}()
	planStart := time.Now()
	pl, state, description := c.plan(ctx, pr)
	planned := time.Since(planStart)
	if out := <-pending; out.state != Planning {
		return out
	}
	if ctx.Err() != nil {
		return outcome{superseded: true}
	}
	out := outcome{state: state, description: description, plan: pl}
	if pl != nil {
		s := pl.Summary()
		out.summary, out.base = &s, pl.Base
		comment, err := c.comment(ctx, pr.Number, pl, s)
		if ctx.Err() != nil {
			return outcome{superseded: true}
		}
		if err != nil {
			out.postError = err.Error()
			log.Warn("cannot post the plan comment; next try at the next poll", logkey.Error, err)
			return out
		}
		out.comment = comment
	}
	final, ok := c.post(ctx, st, github.State(state), description)
	if !ok {
		final.state, final.description, final.plan, final.summary, final.base = out.state, out.description, out.plan, out.summary, out.base
		return final
	}
	took := time.Since(since)
	c.deps.Metrics.duration.Observe(took.Seconds())
	log.Info("pull request planned", logkey.State, state, logkey.Summary, description, logkey.BaseCommit, out.base,
		logkey.Duration, took.Round(time.Millisecond), logkey.PlanDuration, planned.Round(time.Millisecond))
	return out
}

// plan fetches the head and plans it against the tracked branch: the plan
// and the status it earns, or no plan and why (state error).
func (c *Checker) plan(ctx context.Context, pr github.PullRequest) (*plan.Plan, State, string) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	head, err := c.deps.Fetcher.FetchRef(ctx, fmt.Sprintf("refs/pull/%d/head", pr.Number), pr.HeadSHA)
	if err != nil {
		return nil, Error, "could not fetch the head: " + err.Error()
	}
	req := plan.Request{Head: head, Source: c.opts.Source}
	if base, ok := c.deps.Base.Latest(); ok {
		req.Base = &base
	}
	planner := c.deps.Planner
	if pr.Fork() {
		planner = c.deps.ForkPlanner
	}
	pl, err := planner.Plan(ctx, req)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, Error, fmt.Sprintf("could not plan within %s", c.opts.Timeout)
	case err != nil:
		return nil, Error, "could not plan: " + err.Error()
	}
	return pl, stateOf(pl.Summary()), pl.Headline()
}

func stateOf(s plan.Summary) State {
	switch {
	case s.Refused+s.RenderErrors > 0:
		return Failure
	case s.Errors > 0:
		return Error
	}
	return Success
}

// post sets the commit status unless ctx was cancelled; false with the
// outcome to return when it did not.
func (c *Checker) post(ctx context.Context, st github.Status, state github.State, description string) (outcome, bool) {
	if ctx.Err() != nil {
		return outcome{superseded: true}, false
	}
	st.State, st.Description = state, description
	_, err := c.deps.GitHub.SetStatus(ctx, st)
	switch {
	case ctx.Err() != nil:
		return outcome{superseded: true}, false
	case err != nil:
		c.log.Warn("cannot post the commit status; next try at the next poll", logkey.HeadCommit, st.SHA, logkey.State, state, logkey.Error, err)
		return outcome{state: Error, postError: err.Error()}, false
	}
	return outcome{}, true
}

// comment posts or edits the pull request's one comment of this cluster,
// and returns its address. A plan that changes nothing (s is its summary)
// gets no comment unless one exists already: it then says that nothing
// changes any more.
func (c *Checker) comment(ctx context.Context, number int, pl *plan.Plan, s plan.Summary) (string, error) {
	key := c.opts.commentKey()
	if !s.Changes() && !s.Failed() {
		cm, found, err := c.deps.GitHub.FindComment(ctx, number, key)
		if err != nil || !found {
			return cm.URL, err
		}
	}
	text := plan.Markdown(pl, plan.MarkdownOptions{Title: c.title(), Limit: github.CommentRoom(key), More: c.more(number)})
	cm, err := c.deps.GitHub.UpsertComment(ctx, number, key, text)
	return cm.URL, err
}

func (c *Checker) title() string {
	if c.opts.Cluster == "" {
		return "gitopsd plan"
	}
	return "gitopsd plan · cluster " + c.opts.Cluster
}

// more says how to see a whole plan.
func (c *Checker) more(number int) string {
	cmd := fmt.Sprintf("`gitopsd plan --repo %s --ref refs/pull/%d/head --base %s`", c.opts.Repository, number, c.opts.Branch)
	if u := c.planURL(number); u != "" {
		return fmt.Sprintf("See them all with %s, or at %s.", cmd, u)
	}
	return fmt.Sprintf("See them all with %s.", cmd)
}

// planURL is the page where this daemon shows the pull request's whole
// plan; empty without an external URL.
func (c *Checker) planURL(number int) string {
	if c.opts.ExternalURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/plans/%d", strings.TrimRight(c.opts.ExternalURL, "/"), number)
}

func orGone(repo string) string {
	if repo == "" {
		return "a deleted repository"
	}
	return repo
}
