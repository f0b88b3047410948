package plancheck

import (
	"context"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/plan"
)

// pull is what the checker keeps of one pull request. At most one plan of
// it runs at a time, so that what a newer head posts always comes after
// whatever an older one did.
type pull struct {
	pr        github.PullRequest // with the newest head known
	requested time.Time          // when last asked for, by webhook or poll
	running   *run               // the plan under way; nil when idle
	queued    bool
	again     bool // a newer head came while running: queue it on return
	closed    bool // forgotten while running: dropped on return
	done      planned
	status    Pull
	plan      *plan.Plan
}

// planned is what a finished and reported plan covered: the head and the
// tracked branch's commit it was compared with.
type planned struct{ head, base string }

// run is a plan under way.
type run struct {
	head   string
	since  time.Time // the request it answers
	cancel context.CancelFunc
}

// Plan asks for a plan of pr's head, now or after the plan under way.
// A plan of an older head of the same pull request is cancelled.
func (c *Checker) Plan(pr github.PullRequest) { c.request(pr, true) }

// Forget drops a closed pull request: its plan under way is cancelled and
// posts nothing more.
func (c *Checker) Forget(number int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pulls[number]
	switch {
	case p == nil:
	case p.running != nil:
		p.running.cancel()
		p.closed, p.queued, p.again = true, false, false
	default:
		delete(c.pulls, number)
	}
}

// request queues pr unless a plan of its head is queued or running; from
// a poll (force false), also unless its head was planned against the
// tracked branch as it is now. A request older than what is known of the
// pull request names a head already superseded: GitHub does not deliver
// webhooks in order, and a list may have started before the last push.
func (c *Checker) request(pr github.PullRequest, force bool) {
	base := ""
	if b, ok := c.deps.Base.Latest(); ok {
		base = b.Commit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pulls[pr.Number]
	if p == nil {
		p = &pull{status: pullOf(pr)}
		c.pulls[pr.Number] = p
	}
	sameHead := p.pr.HeadSHA == pr.HeadSHA
	if !pr.UpdatedAt.IsZero() && pr.UpdatedAt.Before(p.pr.UpdatedAt) {
		if !sameHead {
			return
		}
		pr.UpdatedAt = p.pr.UpdatedAt
	}
	p.closed = false
	p.requested = time.Now()
	p.pr = pr
	switch {
	case p.running != nil && sameHead && !p.again:
		return // the plan under way answers it
	case p.queued:
		p.status.Head = pr.HeadSHA
		return
	case !force && sameHead && p.done == planned{pr.HeadSHA, base}:
		return
	case p.running != nil:
		if !sameHead || p.running.head != pr.HeadSHA {
			p.running.cancel() // superseded: posts nothing more
		}
		p.again = true
		return
	}
	c.enqueue(pr.Number, p)
}

// enqueue queues p for a worker; c.mu is held.
func (c *Checker) enqueue(number int, p *pull) {
	p.queued = true
	p.status = Pull{Number: p.pr.Number, Title: p.pr.Title, URL: p.pr.URL, Author: p.pr.Author, Head: p.pr.HeadSHA, State: Queued,
		Comment: p.status.Comment}
	c.queue = append(c.queue, number)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run plans queued pull requests with Options.Workers workers and lists
// the open ones every Options.Interval, until ctx ends.
func (c *Checker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.work(ctx) })
	}
	tick := time.NewTicker(c.opts.Interval)
	defer tick.Stop()
	for {
		c.poll(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
		}
	}
}

// poll lists the open pull requests into the tracked branch: those not
// planned at their head and the branch's commit are queued, and those no
// longer open forgotten.
func (c *Checker) poll(ctx context.Context) {
	start := time.Now()
	prs, err := c.deps.GitHub.OpenPullRequests(ctx, c.opts.Branch)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("cannot list open pull requests; next try in an interval", logkey.Error, err)
		}
		return
	}
	open := map[int]bool{}
	for _, pr := range prs {
		open[pr.Number] = true
		c.request(pr, false)
	}
	c.mu.Lock()
	var gone []int
	for n, p := range c.pulls {
		// One asked for since the list started may be too new for it.
		if !open[n] && p.requested.Before(start) {
			gone = append(gone, n)
		}
	}
	c.mu.Unlock()
	for _, n := range gone {
		c.Forget(n)
	}
}

// work plans queued pull requests until ctx ends.
func (c *Checker) work(ctx context.Context) {
	for {
		number, pr, r, ctx, ok := c.next(ctx)
		if !ok {
			return
		}
		out := c.check(ctx, pr, r.since)
		r.cancel()
		c.finish(number, r, out)
	}
}

// next takes the oldest queued pull request and marks it running, or
// waits for one.
func (c *Checker) next(ctx context.Context) (int, github.PullRequest, *run, context.Context, bool) {
	for {
		c.mu.Lock()
		for len(c.queue) > 0 {
			number := c.queue[0]
			c.queue = c.queue[1:]
			p := c.pulls[number]
			if p == nil || !p.queued {
				continue // forgotten meanwhile
			}
			if len(c.queue) > 0 {
				select { // more for the other workers
				case c.wake <- struct{}{}:
				default:
				}
			}
			rctx, cancel := context.WithCancel(ctx)
			r := &run{head: p.pr.HeadSHA, since: p.requested, cancel: cancel}
			p.queued, p.running = false, r
			now := time.Now()
			p.status.State, p.status.Started, p.status.Finished = Planning, &now, nil
			pr := p.pr
			c.mu.Unlock()
			return number, pr, r, rctx, true
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-ctx.Done():
			return 0, github.PullRequest{}, nil, nil, false
		}
	}
}

// finish records what a plan came to and queues the pull request again
// when a newer head came meanwhile.
func (c *Checker) finish(number int, r *run, out outcome) {
	c.deps.Metrics.checks.WithLabelValues(out.label()).Inc()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pulls[number]
	p.running = nil
	if p.closed {
		delete(c.pulls, number)
		return
	}
	if !out.superseded {
		now := time.Now()
		p.status.Base, p.status.State, p.status.Description = out.base, out.state, out.description
		p.status.Summary, p.status.PostError, p.status.Finished = out.summary, out.postError, &now
		if out.comment != "" {
			p.status.Comment = out.comment
		}
		p.plan = out.plan
		// An error is gitopsd's (a fetch failed, the cluster did not
		// answer), not the pull request's: the next poll tries again.
		if out.postError == "" && out.state != Error {
			p.done = planned{r.head, out.base}
		}
	}
	if p.again {
		p.again = false
		c.enqueue(number, p)
	}
}
