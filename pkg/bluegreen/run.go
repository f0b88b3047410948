package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reconcile brings a blue/green installation one reconcile further: it
// starts, continues or ends a cutover as the render and the state say,
// saving the state before each step acts, and applies the coloured
// objects. It returns when the installation is ready, held, failed, or ctx
// ends; a later call resumes where this one stopped, even on another
// replica.
func (c *Cutover) Reconcile(ctx context.Context, in Input) Result {
	r, err := inspect(in.Installation, in.Objects, in.Spec, in.Namespace)
	if err != nil {
		return Result{Outcome: Failed, Err: err, Terminal: true}
	}
	st, err := c.store.Load(ctx, in.Installation)
	if err != nil {
		return Result{Outcome: Failed, Err: err}
	}
	x := &run{c: c, in: in, r: r, st: st}
	res := x.reconcile(ctx)
	res.ChangeSet, res.Reply = x.applied, x.reply
	if res.Outcome == Interrupted && ctx.Err() == nil {
		res.Outcome = Failed // a wait failed for another reason
	}
	res.Status = statusOf(in.Spec, x.st, c.readyReplicas(context.WithoutCancel(ctx), r.namespace, in.Installation))
	return res
}

// run is one Reconcile: its input, the render's view and the state it
// moves on.
type run struct {
	c        *Cutover
	in       Input
	r        *rendered
	st       *State
	cs       *apply.ChangeSet // the last apply's
	applied  *apply.ChangeSet // what the run's applies did, merged
	promoted bool             // a promote asks to start a cutover again
	reply    error
	replied  bool
	// preview, when set, makes the run a Preview: nothing is saved, and
	// the first apply is recorded in it instead and ends the run.
	preview *Preview
}

// now reads the clock at each use: one run goes through several steps,
// each recorded at the time it happened.
func (x *run) now() time.Time { return x.c.opts.Now() }

func (x *run) reconcile(ctx context.Context) Result {
	if err := x.begin(ctx); err != nil {
		return x.failed(err)
	}
	if x.in.Command != "" {
		if res, done := x.command(ctx); done {
			return res
		}
	}
	if res, done := x.switchBack(ctx); done {
		return res
	}
	if res, done := x.choose(ctx); done {
		return res
	}
	for x.st.Attempt.Active() {
		var res *Result
		switch x.st.Attempt.Step {
		case StepGate:
			res = x.gate(ctx)
		case StepRollout:
			res = x.rollout(ctx)
		case StepPreCutover:
			res = x.preCutover(ctx)
		case StepSwitch:
			res = x.switchOver(ctx)
		}
		if res != nil {
			return *res
		}
	}
	return x.settle(ctx)
}

// begin sets up an installation never applied as blue/green: the first
// apply makes blue live at once; a plain Deployment that serves is
// replaced by a cutover to blue.
func (x *run) begin(ctx context.Context) error {
	if x.st.Live != "" || len(x.st.Versions) > 0 || x.st.Attempt != nil {
		return nil
	}
	plain, err := x.c.client.AppsV1().Deployments(x.r.namespace).Get(ctx, x.in.Spec.Deployment, metav1.GetOptions{})
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("look for a plain Deployment %s to replace: %w", x.in.Spec.Deployment, err)
	case err == nil && plain.Labels[labelInstallation] == x.in.Installation:
		x.startAttempt()
		return x.save(ctx)
	}
	x.st.Live = Blue
	x.st.setVersion(Blue, x.newVersion(x.renderedReplicas(1), nil))
	return x.save(ctx)
}

// choose decides what the rendered template means for the state: go on
// with the cutover under way, start one, keep the live colour, or stay
// held or failed. done says the reconcile ends with res.
func (x *run) choose(ctx context.Context) (res Result, done bool) {
	a, live := x.st.Attempt, x.st.version(x.st.Live)
	if rb := x.st.RolledBack; rb != nil && rb.Digest != x.r.digest {
		x.st.RolledBack = nil // a commit with another template ends the hold
	}
	switch {
	case a.Active() && a.Digest == x.r.digest:
		return Result{}, false
	case x.st.RolledBack != nil:
		msg := fmt.Sprintf("rolled back to %s by gitopsd rollback; commit %s is not cut over until a commit changes the Deployment or gitopsd promote %s",
			x.st.Live, logkey.ShortSHA(x.in.Commit), x.in.Installation)
		return x.held(ctx, msg, time.Time{}), true
	case live != nil && live.Digest == x.r.digest:
		if ok, until := x.in.Windows.Allowed(x.now()); !ok && x.in.Commit != x.in.Applied {
			return x.heldByWindow(until), true
		}
		if a.Active() {
			x.end(a, StepSuperseded, fmt.Sprintf("commit %s brings back the template %s runs", logkey.ShortSHA(x.in.Commit), x.st.Live))
		}
		x.resizeLive()
		return Result{}, false
	case a.Failed() && a.Digest == x.r.digest && !x.promoted:
		if err := x.settleErr(ctx); err != nil {
			return x.failed(err), true
		}
		return Result{Outcome: Failed, Err: errors.New(a.Reason), Terminal: true,
			Message: fmt.Sprintf("cutover #%d failed: %s; a new commit or gitopsd promote %s tries again", a.Number, a.Reason, x.in.Installation)}, true
	}
	// A sync window holds only the switch: the new colour gets ready.
	x.startAttempt()
	if err := x.save(ctx); err != nil {
		return x.failed(err), true
	}
	return Result{}, false
}

// startAttempt begins a cutover to the rendered template on the colour
// that does not serve; one under way gives way to it.
func (x *run) startAttempt() {
	prev := x.st.Attempt
	x.st.Attempts++
	a := &Attempt{Number: x.st.Attempts, Commit: x.in.Commit, Digest: x.r.digest, From: x.st.Live, To: x.st.Live.Other(), Promoted: x.promoted}
	from := "a plain Deployment"
	if a.From != "" {
		from = string(a.From)
	}
	msg := fmt.Sprintf("cutover #%d of commit %s from %s to %s", a.Number, logkey.ShortSHA(a.Commit), from, a.To)
	if prev.Active() {
		msg += fmt.Sprintf("; it supersedes cutover #%d of commit %s", prev.Number, logkey.ShortSHA(prev.Commit))
		x.st.Attempt = prev
		x.end(prev, StepSuperseded, fmt.Sprintf("superseded by commit %s", logkey.ShortSHA(x.in.Commit)))
	}
	a.record(StepGate, x.now(), msg)
	x.st.Attempt = a
}

// end closes attempt a at step, scaling to zero the colour it gave a new
// template; the live colour is not touched.
func (x *run) end(a *Attempt, step Step, reason string) {
	if v := x.st.version(a.To); v != nil && v.Digest == a.Digest && a.To != x.st.Live {
		v.Replicas, v.KeepUntil = 0, nil
	}
	a.Reason = reason
	a.record(step, x.now(), reason)
}

// resizeLive gives the live colour the rendered replicas: a change of only
// spec.replicas applies in place.
func (x *run) resizeLive() {
	if live := x.st.version(x.st.Live); live != nil && x.r.replicas != nil && !x.st.Attempt.Active() {
		live.Replicas = *x.r.replicas
	}
}

// renderedReplicas is the rendered spec.replicas, or def.
func (x *run) renderedReplicas(def int32) int32 {
	if x.r.replicas != nil {
		return *x.r.replicas
	}
	return def
}

func (x *run) newVersion(replicas int32, pr *PullRequest) *Version {
	return &Version{Commit: x.in.Commit, PullRequest: pr, Template: x.r.template, Digest: x.r.digest, Replicas: replicas}
}

func (x *run) save(ctx context.Context) error {
	if x.preview != nil {
		return nil
	}
	if err := x.c.store.Save(ctx, x.in.Installation, x.st); err != nil {
		return err
	}
	if x.in.Observe != nil {
		x.in.Observe(*statusOf(x.in.Spec, x.st, nil))
	}
	if x.c.reporter != nil && x.st.Attempt != nil {
		x.c.reporter.Report(x.in.Installation, x.in.Spec, *x.st.Attempt)
	}
	return nil
}

// apply applies the objects the state stands for.
func (x *run) apply(ctx context.Context) error {
	set, keep, err := desired(x.in.Installation, x.in.Objects, x.in.Spec, x.st, x.r)
	if err != nil {
		return err
	}
	if x.preview != nil {
		x.preview.Objects, x.preview.Keep = set, keep
		return errPreviewed
	}
	cs, err := x.in.Applier.Apply(ctx, set, keep)
	if cs != nil {
		x.cs, x.applied = cs, merged(x.applied, cs)
	}
	if err != nil {
		return err
	}
	if x.r.autoscaled {
		return x.scaleColours(ctx)
	}
	return nil
}

// settle scales down the colours whose keep ended, applies, and waits for
// health: the end of every reconcile that does not wait for something
// else.
func (x *run) settle(ctx context.Context) Result {
	if err := x.settleErr(ctx); err != nil {
		return x.failed(err)
	}
	res := Result{Outcome: Ready, Next: x.nextScaleDown()}
	if a := x.st.Attempt; a != nil && a.Step == StepKeep {
		res.Message = fmt.Sprintf("cutover #%d switched to %s; %s kept until %s", a.Number, x.st.Live, x.st.Previous, res.Next.Format(time.RFC3339))
	}
	return res
}

func (x *run) settleErr(ctx context.Context) error {
	if x.scaleDown() {
		if err := x.save(ctx); err != nil {
			return err
		}
	}
	if err := x.apply(ctx); err != nil {
		return err
	}
	return x.in.Applier.Wait(ctx, x.cs)
}

// scaleDown sets to zero the colours whose keep ended; it reports whether
// the state changed.
func (x *run) scaleDown() bool {
	changed, now := false, x.now()
	for _, c := range Colours {
		v := x.st.version(c)
		if v == nil || v.KeepUntil == nil || now.Before(*v.KeepUntil) || c == x.st.Live {
			continue
		}
		v.Replicas, v.KeepUntil, changed = 0, nil, true
		if a := x.st.Attempt; a != nil && a.Step == StepKeep && a.From == c {
			a.record(StepDone, now, fmt.Sprintf("%s scaled to zero", ColouredName(x.in.Spec.Deployment, c)))
		}
	}
	return changed
}

// nextScaleDown is when a kept colour is due to be scaled down; zero when
// none is kept.
func (x *run) nextScaleDown() time.Time {
	var next time.Time
	for _, c := range Colours {
		if v := x.st.version(c); v != nil && v.KeepUntil != nil && c != x.st.Live && (next.IsZero() || v.KeepUntil.Before(next)) {
			next = *v.KeepUntil
		}
	}
	return next
}

// held applies the state (the rest of the commit applies as usual) and
// returns Held with msg.
func (x *run) held(ctx context.Context, msg string, until time.Time) Result {
	if err := x.settleErr(ctx); err != nil {
		return x.failed(err)
	}
	next := x.nextScaleDown()
	if !until.IsZero() && (next.IsZero() || until.Before(next)) {
		next = until
	}
	return Result{Outcome: Held, Message: msg, HeldUntil: until, Next: next}
}

// heldByWindow holds a commit that starts no cutover until the window
// opens, applying nothing, as for any installation.
func (x *run) heldByWindow(until time.Time) Result {
	msg := "sync window closed; no end within a year"
	if !until.IsZero() {
		msg = "sync window closed until " + until.Format(time.RFC3339)
	}
	return Result{Outcome: Held, Message: fmt.Sprintf("commit %s held: %s", logkey.ShortSHA(x.in.Commit), msg), HeldUntil: until, Next: until}
}

// failed is a failure that a retry may fix; a context that ended is an
// interruption.
func (x *run) failed(err error) Result {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Result{Outcome: Interrupted, Err: err}
	}
	var spec *SpecError
	return Result{Outcome: Failed, Err: err, Terminal: errors.As(err, &spec)}
}
