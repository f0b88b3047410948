package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/logkey"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gate passes the commit on when a pull request merged into the tracked
// branch made it (or a promote released it, or the gate is off), and gives
// the idle colour the new template at the live colour's size. Otherwise
// the cutover is held; the rest of the commit applies.
func (x *run) gate(ctx context.Context) *Result {
	a := x.st.Attempt
	passed := "the gate is off (requireMergedPR: false)"
	switch {
	case a.Promoted:
		passed = "released by gitopsd promote"
	case x.preview != nil:
		// A plan shows the cutover a merged pull request would start.
	case x.in.Spec.RequireMergedPR:
		pr, reason, err := x.mergedPullRequest(ctx)
		if err != nil {
			return ptr(x.failed(fmt.Errorf("gate of commit %s: %w", logkey.ShortSHA(x.in.Commit), err)))
		}
		if pr == nil {
			if a.Reason != reason {
				a.Reason = reason
				if err := x.save(ctx); err != nil {
					return ptr(x.failed(err))
				}
			}
			res := x.held(ctx, reason, time.Time{})
			// GitHub may learn of the merge late: ask again soon.
			if recheck := x.now().Add(gateRecheck); res.Next.IsZero() || recheck.Before(res.Next) {
				res.Next = recheck
			}
			return &res
		}
		a.PullRequest = pr
		passed = fmt.Sprintf("merged by pull request #%d", pr.Number)
	}
	replicas := x.liveReplicas(ctx)
	x.st.setVersion(a.To, x.newVersion(replicas, a.PullRequest))
	a.Reason = ""
	a.record(StepRollout, x.now(), fmt.Sprintf("commit %s %s; rolling out %s at %d replica(s)",
		logkey.ShortSHA(a.Commit), passed, ColouredName(x.in.Spec.Deployment, a.To), replicas))
	if err := x.save(ctx); err != nil {
		return ptr(x.failed(err))
	}
	return nil
}

// gateRecheck is how soon a commit the gate held is looked at again.
const gateRecheck = time.Minute

// mergedPullRequest asks the gate; reason says why the commit does not
// pass when pr is nil.
func (x *run) mergedPullRequest(ctx context.Context) (pr *PullRequest, reason string, err error) {
	release := fmt.Sprintf("; gitopsd promote %s releases it", x.in.Installation)
	if x.c.gate == nil {
		return nil, fmt.Sprintf("commit %s cannot be checked against merged pull requests: no GitHub repository is configured%s", logkey.ShortSHA(x.in.Commit), release), nil
	}
	merged, found, err := x.c.gate.MergedPullRequest(ctx, x.in.Commit, x.c.opts.Branch)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, fmt.Sprintf("commit %s is not from a merged pull request%s", logkey.ShortSHA(x.in.Commit), release), nil
	}
	return &PullRequest{Number: merged.Number, URL: merged.URL}, "", nil
}

// liveReplicas is the size of the colour (or plain Deployment) that serves
// now, as the cluster has it (an autoscaler may have changed it); never
// zero.
func (x *run) liveReplicas(ctx context.Context) int32 {
	name := x.in.Spec.Deployment
	if x.st.Live != "" {
		name = ColouredName(name, x.st.Live)
	}
	d, err := x.c.client.AppsV1().Deployments(x.r.namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas > 0 {
		return *d.Spec.Replicas
	}
	if v := x.st.version(x.st.Live); v != nil && v.Replicas > 0 {
		return v.Replicas
	}
	return x.renderedReplicas(1)
}

// rollout applies the new template to the idle colour and waits until it
// is fully available, then for the health of the rest; a colour that fails
// or is not available in time aborts the cutover.
func (x *run) rollout(ctx context.Context) *Result {
	a := x.st.Attempt
	if err := x.apply(ctx); err != nil {
		return ptr(x.failed(err))
	}
	name := ColouredName(x.in.Spec.Deployment, a.To)
	if res := x.waitOrAbort(ctx, x.c.waitAvailable(ctx, x.r.namespace, name, x.in.Spec.PreviewService, x.in.Timeout)); res != nil {
		return res
	}
	if err := x.in.Applier.Wait(ctx, x.cs); err != nil {
		return ptr(x.failed(err))
	}
	msg := name + " is fully available"
	next := StepSwitch
	if x.in.Spec.PreCutover != "" {
		next, a.Job = StepPreCutover, jobName(x.in.Spec, a.Number)
		msg += "; running pre-cutover Job " + a.Job
	}
	a.record(next, x.now(), msg)
	if err := x.save(ctx); err != nil {
		return ptr(x.failed(err))
	}
	return nil
}

// preCutover runs this cutover's Job and waits until it completes; its
// failure aborts the cutover.
func (x *run) preCutover(ctx context.Context) *Result {
	if x.preview != nil {
		// The Job runs before anything more is applied.
		return ptr(x.failed(x.apply(ctx)))
	}
	a := x.st.Attempt
	if err := x.runJob(ctx, a); err != nil {
		return ptr(x.failed(err))
	}
	if res := x.waitOrAbort(ctx, x.c.waitJob(ctx, x.r.namespace, a.Job, x.in.Timeout)); res != nil {
		return res
	}
	a.record(StepSwitch, x.now(), "pre-cutover Job "+a.Job+" completed")
	if err := x.save(ctx); err != nil {
		return ptr(x.failed(err))
	}
	return nil
}

// waitOrAbort turns the outcome of a wait into the cutover's: nil to go
// on, an abort when what was waited for failed.
func (x *run) waitOrAbort(ctx context.Context, err error) *Result {
	var na *notAvailable
	switch {
	case err == nil:
		return nil
	case errors.As(err, &na):
		return x.abort(ctx, na.reason)
	}
	return ptr(x.failed(err))
}

// switchOver switches the Services to the new colour once the sync window
// and autoPromote let it, and only while it is fully available; the old
// colour is kept at full size for the scale-down delay.
func (x *run) switchOver(ctx context.Context) *Result {
	a := x.st.Attempt
	name := ColouredName(x.in.Spec.Deployment, a.To)
	wait := ""
	ok, until := x.in.Windows.Allowed(x.now())
	switch {
	case !ok && until.IsZero():
		wait = name + " is ready; the switch waits for a sync window (none opens within a year)"
	case !ok:
		wait = name + " is ready; the switch waits for the sync window at " + until.Format(time.RFC3339)
	case !x.in.Spec.AutoPromote && !a.Promoted:
		wait = fmt.Sprintf("%s is ready; the switch waits for gitopsd promote %s (autoPromote: false)", name, x.in.Installation)
	}
	if wait != "" {
		if a.Reason != wait {
			a.Reason = wait
			if err := x.save(ctx); err != nil {
				return ptr(x.failed(err))
			}
		}
		return ptr(x.held(ctx, wait, until))
	}
	d, err := x.c.client.AppsV1().Deployments(x.r.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ptr(x.failed(fmt.Errorf("read %s before the switch: %w", name, err)))
	}
	if ok, why := fullyAvailable(d); !ok {
		// Never switch to a colour that is not ready: wait for it again.
		a.Reason = ""
		a.record(StepRollout, x.now(), fmt.Sprintf("%s is no longer available before the switch (%s); waiting for it again", name, why))
		if err := x.save(ctx); err != nil {
			return ptr(x.failed(err))
		}
		return nil
	}
	a.Reason = ""
	if err := x.switchTo(ctx, a.To, a, StepKeep, fmt.Sprintf("switched Service(s) %s to %s", strings.Join(x.in.Spec.Services, ", "), a.To)); err != nil {
		return ptr(x.failed(err))
	}
	return nil
}

// switchTo makes colour c live: the state is saved first, so that a
// replica that takes over after a crash finishes the switch, then the
// Services are applied. The colour that served is kept for the scale-down
// delay. step and msg go to the timeline of attempt a, when given.
func (x *run) switchTo(ctx context.Context, c Colour, a *Attempt, step Step, msg string) error {
	from := x.st.Live
	if v := x.st.version(from); v != nil && v.Replicas > 0 {
		// Kept at the size it serves at, which an autoscaler may have set;
		// a colour that failed was set to zero by the caller.
		v.Replicas = x.liveReplicas(ctx)
	}
	x.st.Previous, x.st.Live = from, c
	x.st.version(c).KeepUntil = nil
	at := x.now() // the switch: the old colour is kept from it
	if v := x.st.version(from); v != nil {
		until := at.Add(x.in.Spec.ScaleDownDelay)
		v.KeepUntil = &until
		msg += fmt.Sprintf("; %s kept until %s", ColouredName(x.in.Spec.Deployment, from), until.Format(time.RFC3339))
	}
	if a != nil {
		a.record(step, at, msg)
	}
	if err := x.save(ctx); err != nil {
		return err
	}
	return x.apply(ctx)
}

// abort ends the cutover before its switch: the idle colour is scaled to
// zero, the live colour was never touched.
func (x *run) abort(ctx context.Context, reason string) *Result {
	a := x.st.Attempt
	msg := fmt.Sprintf("cutover #%d of commit %s aborted: %s; %s still serves", a.Number, logkey.ShortSHA(a.Commit), reason, x.serving())
	x.end(a, StepAborted, msg)
	if err := x.save(ctx); err != nil {
		return ptr(x.failed(err))
	}
	if err := x.apply(context.WithoutCancel(ctx)); err != nil {
		return ptr(x.failed(fmt.Errorf("%s; scaling the idle colour to zero failed: %w", msg, err)))
	}
	return &Result{Outcome: Failed, Err: errors.New(msg), Terminal: true}
}

func ptr[T any](v T) *T { return &v }
