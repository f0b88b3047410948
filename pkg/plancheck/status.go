package plancheck

import (
	"slices"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/plan"
)

// State is where a pull request's plan check stands.
type State string

const (
	// Queued: waiting for a worker.
	Queued State = "queued"
	// Planning: fetching, planning and posting.
	Planning State = "planning"
	// Success: planned; applying would work (it may change nothing).
	Success State = "success"
	// Failure: applying would fail: a render error, a refusal.
	Failure State = "failure"
	// Error: gitopsd could not plan (the cluster unreachable, a fetch
	// failed); the pull request is not at fault.
	Error State = "error"
	// Skipped: not planned, by policy (a fork's pull request).
	Skipped State = "skipped"
)

// Pull is a pull request's plan check as the status API shows it: one
// value, rendered as JSON and by `gitopsd status`.
type Pull struct {
	Number int    `json:"number"`
	Title  string `json:"title,omitempty"`
	URL    string `json:"url,omitempty"`
	Author string `json:"author,omitempty"`
	// Head is the commit planned, or to plan.
	Head string `json:"head"`
	// Base is the commit of the tracked branch the plan was compared with.
	Base  string `json:"base,omitempty"`
	State State  `json:"state"`
	// Description is the commit status description, or why the pull
	// request was skipped.
	Description string        `json:"description,omitempty"`
	Summary     *plan.Summary `json:"summary,omitempty"`
	// Comment is the comment's address, when one was posted.
	Comment string `json:"comment,omitempty"`
	// PostError says why GitHub could not be told; the next poll tries
	// again.
	PostError string     `json:"postError,omitempty"`
	Started   *time.Time `json:"started,omitempty"`
	Finished  *time.Time `json:"finished,omitempty"`
	// Plan is the whole plan; only Checker.Pull fills it in.
	Plan *plan.Plan `json:"plan,omitempty"`
}

func pullOf(pr github.PullRequest) Pull {
	return Pull{Number: pr.Number, Title: pr.Title, URL: pr.URL, Author: pr.Author, Head: pr.HeadSHA, State: Queued}
}

// Pulls returns the open pull requests known and their checks, by number,
// without their plans.
func (c *Checker) Pulls() []Pull {
	c.mu.Lock()
	out := make([]Pull, 0, len(c.pulls))
	for _, p := range c.pulls {
		if !p.closed {
			out = append(out, p.status)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Pull) int { return a.Number - b.Number })
	return out
}

// Pull returns pull request number's check with its last plan.
func (c *Checker) Pull(number int) (Pull, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pulls[number]
	if p == nil || p.closed {
		return Pull{}, false
	}
	out := p.status
	out.Plan = p.plan // never modified once made
	return out, true
}
