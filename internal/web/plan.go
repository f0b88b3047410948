package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
)

// forPull turns p into the page of a pull request's plan check.
func (p *page) forPull(pull *plancheck.Pull) {
	p.Pull = pull
	p.Title = fmt.Sprintf("#%d plan · gitopsd", pull.Number)
	if pull.State == plancheck.Failure || pull.State == plancheck.Error {
		p.Title = "(" + string(pull.State) + ") " + p.Title
	}
}

// forMissingPull turns p into the page saying there is no plan for
// number; planChecks says whether the daemon plans pull requests at all.
func (p *page) forMissingPull(number string, planChecks bool) {
	p.MissingPull, p.PlanChecks = number, planChecks
	p.Title = "#" + number + " plan · gitopsd"
}

// Shown are the objects of an installation that get a block of their own,
// as in the comment: all but those refused, which the problems list.
func (p *page) Shown(in plan.Installation) []plan.Object {
	var out []plan.Object
	for _, o := range in.Objects {
		if o.Action != plan.Refuse {
			out = append(out, o)
		}
	}
	return out
}

// Result is an installation's outcome in the plan's table, in the
// comment's words.
func (p *page) Result(in plan.Installation) result {
	s := in.Summary()
	switch {
	case in.RenderError != nil:
		return result{"render error", "bad"}
	case in.Refused != "":
		return result{"refused", "bad"}
	case in.Error != "":
		return result{"not planned", "warn"}
	case s.Refused > 0:
		return result{fmt.Sprintf("%d refused", s.Refused), "bad"}
	case s.Changes():
		return result{"changes", "info"}
	}
	return result{"no changes", "ok"}
}

// Outcome is the plan's outcome as a whole, as the comment's icon says it.
func (p *page) Outcome(pl *plan.Plan) result {
	s := pl.Summary()
	switch {
	case s.Refused+s.RenderErrors > 0:
		return result{"would fail", "bad"}
	case s.Errors > 0:
		return result{"not all planned", "warn"}
	case s.Changes():
		return result{"changes", "info"}
	}
	return result{"no changes", "ok"}
}

// result is an outcome in words, and its tone (ok, info, warn, bad).
type result struct{ Text, Tone string }

// planView is what the "plan" template renders: a plan, and the page for
// its helpers.
type planView struct {
	Page *page
	Plan *plan.Plan
}

func planOf(p *page, pl *plan.Plan) planView { return planView{Page: p, Plan: pl} }

// PullTone is the tone of a plan check's state.
func (p *page) PullTone(s plancheck.State) string {
	switch s {
	case plancheck.Success:
		return "ok"
	case plancheck.Failure:
		return "bad"
	case plancheck.Error:
		return "warn"
	case plancheck.Queued, plancheck.Planning:
		return "info"
	}
	return "grey"
}

// PlanURL is the page of pull request number's plan.
func (p *page) PlanURL(number int) string { return "/plans/" + strconv.Itoa(number) }

// ObjectID is the anchor of an object's block on the plan page.
func (p *page) ObjectID(installation string, o plan.Object) string {
	return "obj-" + url.PathEscape(installation) + "-" + url.PathEscape(o.Key().String())
}

// diffLine is a line of a diff and how it reads: add, del, hunk, meta
// (the file names, a comment) or context.
type diffLine struct{ Class, Text string }

// diffLines splits a unified diff into lines to colour. The file names
// are read as such only before the first hunk: later, "---" is a line
// removed.
func diffLines(diff string) []diffLine {
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	out := make([]diffLine, len(lines))
	header := true
	for i, l := range lines {
		class := "ctx"
		switch {
		case strings.HasPrefix(l, "@@"):
			class, header = "hunk", false
		case header && (strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") || strings.HasPrefix(l, "# ")):
			class = "meta"
		case strings.HasPrefix(l, "+"):
			class = "add"
		case strings.HasPrefix(l, "-"):
			class = "del"
		}
		out[i] = diffLine{Class: class, Text: l}
	}
	return out
}
