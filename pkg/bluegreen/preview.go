package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/render"
)

// Preview is what the next reconcile of a commit would do to a blue/green
// installation, found by the reconcile's own decisions with nothing
// written: plans dry-run its objects.
type Preview struct {
	// Objects are the objects that reconcile would apply first: the
	// colours, the Services selecting theirs, no plain Deployment and no
	// pre-cutover Job (it runs apart, under a name of its own).
	Objects *render.ObjectSet
	// Keep lists the objects that left the render but would not be
	// pruned yet, with why.
	Keep map[render.Key]string
	// Change says in a word what would happen to the colours; Message in
	// a sentence.
	Change  Change
	Message string
	// Live is the colour that serves now (empty: none, or a plain
	// Deployment); From and To are a cutover's.
	Live     Colour
	From, To Colour
}

// Change is what a commit does to a blue/green installation's colours.
type Change string

const (
	// FirstApply makes blue live directly.
	FirstApply Change = "first-apply"
	// StartCutover starts a cutover: the idle colour gets the new
	// template; the Services switch once it is proven.
	StartCutover Change = "cutover"
	// ContinueCutover goes on with the cutover under way.
	ContinueCutover Change = "continue"
	// Resize changes the replicas of the live colour in place.
	Resize Change = "resize"
	// NoChange leaves the colours as they are: the live colour runs the
	// template, or a rollback or a failed cutover holds the installation.
	NoChange Change = "none"
)

// errPreviewed stops a previewing run at its first apply.
var errPreviewed = errors.New("previewed")

// Preview tells what Reconcile would do with in (its Command and Applier
// are not used) without doing it: the state is read, never saved, and
// nothing is applied. A cutover is shown as started whatever its gate says,
// as when the commit comes from a merged pull request.
func (c *Cutover) Preview(ctx context.Context, in Input) (*Preview, error) {
	r, err := inspect(in.Installation, in.Objects, in.Spec, in.Namespace)
	if err != nil {
		return nil, err
	}
	st, err := c.store.Load(ctx, in.Installation)
	if err != nil {
		return nil, err
	}
	in.Command, in.Applier, in.Observe = "", nil, nil
	p := &Preview{}
	before := st.clone()
	x := &run{c: c, in: in, r: r, st: st, preview: p}
	res := x.reconcile(ctx)
	switch {
	case p.Objects != nil: // the first apply was reached
	case res.Err != nil && !errors.Is(res.Err, errPreviewed):
		return nil, res.Err
	default:
		return nil, fmt.Errorf("installation %s: nothing would be applied: %s", in.Installation, res.Message)
	}
	p.describe(in.Spec, before, x.st, r.digest)
	return p, nil
}

// describe says what moving from state before to after does to a render
// of the template digest.
func (p *Preview) describe(spec Spec, before, after *State, digest string) {
	p.Live = before.Live
	a, was := after.Attempt, before.Attempt
	switch {
	case a.Active() && (was == nil || was.Number != a.Number):
		p.Change, p.From, p.To = StartCutover, a.From, a.To
		p.Message = fmt.Sprintf("a cutover from %s to %s would start: %s gets the new template", p.from(spec), a.To, ColouredName(spec.Deployment, a.To))
		if v := after.version(a.To); v != nil {
			p.Message += fmt.Sprintf(" at %d replica(s)", v.Replicas)
		}
		if spec.PreCutover != "" {
			p.Message += ", pre-cutover Job " + jobName(spec, a.Number) + " runs"
		}
		p.Message += fmt.Sprintf(", then Service(s) %s switch to %s", strings.Join(spec.Services, ", "), a.To)
		if spec.RequireMergedPR {
			p.Message += "; only once a merged pull request brings the commit"
		}
		if was.Active() {
			p.Message += fmt.Sprintf("; it supersedes cutover #%d", was.Number)
		}
	case a.Active():
		p.Change, p.From, p.To = ContinueCutover, a.From, a.To
		p.Message = fmt.Sprintf("cutover #%d from %s to %s goes on at step %s", a.Number, p.from(spec), a.To, was.Step)
		if was.Reason != "" {
			p.Message += " (" + was.Reason + ")"
		}
	case before.Live == "" && after.Live != "":
		p.Change = FirstApply
		p.Message = fmt.Sprintf("first apply: %s goes live directly", after.Live)
	case replicas(before) != replicas(after):
		p.Change = Resize
		p.Message = fmt.Sprintf("replicas change in place on the live colour %s: %d to %d", after.Live, replicas(before), replicas(after))
	case after.RolledBack != nil:
		p.Change = NoChange
		p.Message = fmt.Sprintf("held at %s by gitopsd rollback", after.Live)
	case a.Failed() && a.Digest == digest:
		p.Change = NoChange
		p.Message = fmt.Sprintf("cutover #%d failed (%s); a new commit or gitopsd promote tries again", a.Number, a.Reason)
	default:
		p.Change = NoChange
		p.Message = fmt.Sprintf("%s runs this template; nothing to cut over", after.Live)
	}
}

// from names where a cutover's traffic comes from.
func (p *Preview) from(spec Spec) string {
	if p.From == "" {
		return "the plain Deployment " + spec.Deployment
	}
	return string(p.From)
}

// replicas is the live colour's wanted size; -1 when none serves.
func replicas(st *State) int32 {
	if v := st.version(st.Live); v != nil {
		return v.Replicas
	}
	return -1
}

// jobName is the name the pre-cutover Job runs under in cutover number.
func jobName(spec Spec, number int) string {
	return fmt.Sprintf("%s-%d", spec.PreCutover, number)
}
