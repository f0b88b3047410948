package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// command does in.Command and records its outcome as the reply; done says
// the reconcile ends with res.
func (x *run) command(ctx context.Context) (res Result, done bool) {
	switch x.in.Command {
	case Promote:
		x.reply = x.promote(ctx)
		return Result{}, false
	case Rollback:
		return x.rollback(ctx)
	}
	x.reply = fmt.Errorf("unknown command %q", x.in.Command)
	return Result{}, false
}

// promote releases a cutover waiting for the gate or for autoPromote, ends
// the hold of a rollback, or tries a failed cutover again.
func (x *run) promote(ctx context.Context) error {
	a := x.st.Attempt
	switch {
	case a.Active():
		if a.Promoted {
			return nil
		}
		a.Promoted = true
		a.record(a.Step, x.now(), "promoted by gitopsd promote")
		return x.save(ctx)
	case x.st.RolledBack != nil:
		x.st.RolledBack, x.promoted = nil, true
		return nil
	case a.Failed() && a.Digest == x.r.digest:
		x.promoted = true
		return nil
	}
	return fmt.Errorf("nothing to promote: no cutover of installation %s waits, and none failed or was rolled back", x.in.Installation)
}

// rollback stops a cutover under way; after a switch, it switches back to
// the colour the last cutover took the traffic from, scaling it up first
// if its delay had passed. Either way the installation is held until a
// commit changes the Deployment. It never rolls forward: while a rollback
// holds, or when the last cutover did not switch, it is refused.
func (x *run) rollback(ctx context.Context) (Result, bool) {
	if rb := x.st.RolledBack; rb != nil {
		x.reply = x.alreadyRolledBack(rb)
		return Result{}, false
	}
	a := x.st.Attempt
	switch {
	case a.Active():
		x.end(a, StepRolledBack, "stopped by gitopsd rollback")
		x.st.RolledBack = &RolledBack{Digest: a.Digest, Commit: a.Commit, At: x.now()}
		if err := x.save(ctx); err != nil {
			x.reply = err
			return x.failed(err), true
		}
		if v := x.st.version(x.st.Live.Other()); x.st.Live == "" || v == nil || v.Digest == a.Digest {
			return x.held(ctx, fmt.Sprintf("cutover #%d stopped by gitopsd rollback; %s still serves", a.Number, x.serving()), time.Time{}), true
		}
		// Stopped at the gate: the other colour still runs what served
		// before the live one.
	case a != nil && a.To != x.st.Live:
		x.reply = fmt.Errorf("nothing to roll back: cutover #%d of commit %s ended %s without switching to it; %s serves",
			a.Number, logkey.ShortSHA(a.Commit), a.Step, x.serving())
		return Result{}, false
	}
	to := x.st.Live.Other()
	v, live := x.st.version(to), x.st.version(x.st.Live)
	if x.st.Live == "" || v == nil || v.Digest == live.Digest {
		x.reply = fmt.Errorf("nothing to roll back to: %s never served another version", ColouredName(x.in.Spec.Deployment, to))
		return Result{}, false
	}
	if v.Replicas == 0 {
		if err := x.scaleUp(ctx, to); err != nil {
			x.reply = err
			return x.failed(err), true
		}
	}
	if x.st.RolledBack == nil {
		x.st.RolledBack = &RolledBack{Digest: live.Digest, Commit: live.Commit, At: x.now()}
	}
	msg := fmt.Sprintf("rolled back by gitopsd rollback: Service(s) switched to %s (commit %s)", to, logkey.ShortSHA(v.Commit))
	if err := x.switchTo(ctx, to, a, StepRolledBack, msg); err != nil {
		x.reply = err
		return x.failed(err), true
	}
	return Result{Outcome: Held, Message: msg, Next: x.nextScaleDown()}, true
}

// alreadyRolledBack refuses a rollback while one holds: switching again
// would go forward to the template rolled back from.
func (x *run) alreadyRolledBack(rb *RolledBack) error {
	live := x.st.version(x.st.Live)
	if x.st.Live == "" || live == nil {
		return fmt.Errorf("%s is already rolled back: the plain Deployment %s serves; gitopsd promote %s cuts over to commit %s",
			x.in.Installation, x.in.Spec.Deployment, x.in.Installation, logkey.ShortSHA(rb.Commit))
	}
	return fmt.Errorf("%s is already rolled back to %s (commit %s); gitopsd promote %s returns to %s (commit %s)",
		x.in.Installation, x.st.Live, logkey.ShortSHA(live.Commit), x.in.Installation, x.st.Live.Other(), logkey.ShortSHA(rb.Commit))
}

// scaleUp brings colour c back to the live colour's size and waits until
// it is fully available.
func (x *run) scaleUp(ctx context.Context, c Colour) error {
	v := x.st.version(c)
	v.Replicas = x.liveReplicas(ctx)
	if err := x.save(ctx); err != nil {
		return err
	}
	if err := x.apply(ctx); err != nil {
		return err
	}
	err := x.c.waitAvailable(ctx, x.r.namespace, ColouredName(x.in.Spec.Deployment, c), "", x.in.Timeout)
	var na *notAvailable
	if errors.As(err, &na) {
		v.Replicas = 0
		if serr := x.save(ctx); serr == nil {
			_ = x.apply(ctx)
		}
		return fmt.Errorf("rollback: %s did not become available again: %s", ColouredName(x.in.Spec.Deployment, c), na.reason)
	}
	return err
}

// serving names the Deployment that serves now.
func (x *run) serving() string {
	if x.st.Live == "" {
		return "the plain Deployment " + x.in.Spec.Deployment
	}
	return ColouredName(x.in.Spec.Deployment, x.st.Live)
}
