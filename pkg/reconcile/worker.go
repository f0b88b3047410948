package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	corev1 "k8s.io/api/core/v1"
)

// worker reconciles one installation: one at a time, on each new commit or
// configuration, every interval, and on retry after a failure.
type worker struct {
	r      *Reconciler
	kick   chan struct{} // buffered 1: a reconcile is wanted
	done   chan struct{} // closed by stop
	exited chan struct{} // closed when run returns

	mu         sync.Mutex
	inst       Installation
	snap       source.Snapshot
	status     InstallationStatus
	failures   int
	cancelWait context.CancelFunc // ends the health wait under way, if any
	stopOnce   sync.Once
}

func newWorker(r *Reconciler, inst Installation) *worker {
	return &worker{
		r: r, inst: inst,
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		status: InstallationStatus{Name: inst.Name, Path: inst.Path, Phase: Progressing},
	}
}

// update gives the worker the installation's configuration at snap; a new
// commit ends the health wait under way and resets the backoff.
func (w *worker) update(inst Installation, snap source.Snapshot) {
	w.mu.Lock()
	newCommit := snap.Commit != w.snap.Commit
	changed := newCommit || !inst.Equal(w.inst)
	w.inst, w.snap = inst, snap
	w.status.Path, w.status.SourceCommit = inst.Path, snap.Commit
	if newCommit && w.cancelWait != nil {
		w.cancelWait()
	}
	if changed {
		w.failures = 0
	}
	w.mu.Unlock()
	if changed {
		w.trigger()
	}
}

func (w *worker) trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// stop ends the loop after the reconcile under way; a health wait is cut
// short.
func (w *worker) stop() {
	w.stopOnce.Do(func() {
		close(w.done)
		w.mu.Lock()
		if w.cancelWait != nil {
			w.cancelWait()
		}
		w.mu.Unlock()
	})
}

func (w *worker) run(ctx context.Context) {
	defer close(w.exited)
	w.recallApplied(ctx)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-timer.C:
		}
		next := w.reconcile(ctx)
		timer.Reset(next)
	}
}

// recallApplied takes the applied commit from the inventory, so that a
// restarted daemon does not take what it applied before for a new commit.
func (w *worker) recallApplied(ctx context.Context) {
	w.mu.Lock()
	name := w.status.Name
	w.mu.Unlock()
	inv, err := w.r.inventories.Load(ctx, name)
	if err != nil || !source.SameIdentity(inv.Source, w.r.opts.Source) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status.AppliedCommit == "" {
		w.status.AppliedCommit = inv.Commit
	}
}

// reconcile renders, applies and waits once, records the outcome, and
// returns when to reconcile again.
func (w *worker) reconcile(ctx context.Context) time.Duration {
	w.mu.Lock()
	inst, snap := w.inst, w.snap
	waitCtx, cancelWait := context.WithCancel(ctx)
	w.cancelWait = cancelWait
	w.mu.Unlock()
	defer cancelWait()

	if ok, until := inst.Windows.Allowed(w.r.opts.Now()); !ok {
		return w.held(inst, snap, until)
	}
	w.mu.Lock()
	w.status.HeldUntil = nil
	w.mu.Unlock()
	start := time.Now()
	w.setPhase(Progressing, "reconciling commit "+short(snap.Commit))
	cs, err := w.applyOnce(ctx, waitCtx, inst, snap)
	elapsed := time.Since(start)
	switch {
	case err == nil:
		return w.succeeded(inst, snap, cs, elapsed)
	case waitCtx.Err() != nil && ctx.Err() == nil:
		// A newer commit or configuration arrived during the health wait.
		return 0
	default:
		return w.failed(inst, cs, err, elapsed)
	}
}

// applyOnce renders, applies and waits for health.
func (w *worker) applyOnce(ctx, waitCtx context.Context, inst Installation, snap source.Snapshot) (*apply.ChangeSet, error) {
	set, err := w.r.renderer.Render(ctx, snap.Files, snap.Commit, inst.Path)
	if err != nil {
		return nil, err
	}
	opts := ApplyOptions(w.r.opts.Apply, inst)
	if w.r.drift != nil {
		opts.Hold = w.r.drift.Holds(inst.Name)
	}
	req := apply.Request{Installation: inst.Name, Namespace: inst.Namespace, Source: w.r.opts.Source, Fleet: w.r.fleetNames(), Commit: snap.Commit, Objects: set}
	if w.r.drift != nil {
		// gitopsd's own writes and prunes are not drift.
		w.r.drift.Pause(inst.Name)
	}
	cs, err := w.r.applier.Apply(ctx, req, opts)
	if w.r.drift != nil {
		if err == nil && cs.Owned != nil {
			w.r.drift.Track(drift.Installation{Name: inst.Name, Request: req, Options: opts, Owned: cs.Owned, Correct: inst.CorrectDrift})
		} else {
			w.r.drift.Resume(inst.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	w.recordApply(cs)
	if err := cs.Err(); err != nil {
		return cs, err
	}
	w.setPhase(Progressing, cs.Summary()+"; waiting for the objects to become healthy")
	return cs, w.r.applier.Wait(waitCtx, cs, inst.Timeout)
}

func (w *worker) recordApply(cs *apply.ChangeSet) {
	counts := cs.Counts()
	if counts[apply.Created]+counts[apply.Configured] > 0 {
		w.r.events.Event(cs.Installation, corev1.EventTypeNormal, "Applied", fmt.Sprintf("commit %s: %s", short(cs.Commit), cs.Summary()))
	}
	if counts[apply.Deleted] > 0 {
		w.r.events.Event(cs.Installation, corev1.EventTypeNormal, "Pruned", fmt.Sprintf("commit %s: %d object(s) deleted", short(cs.Commit), counts[apply.Deleted]))
	}
	w.r.metrics.observeChanges(cs.Installation, cs)
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Objects = actionCounts(cs)
	w.status.LastApplyTime = &now
	w.status.LastApplyDuration = cs.Duration.Round(time.Millisecond).String()
}

func (w *worker) succeeded(inst Installation, snap source.Snapshot, cs *apply.ChangeSet, elapsed time.Duration) time.Duration {
	w.r.metrics.duration.WithLabelValues(inst.Name, "success").Observe(elapsed.Seconds())
	w.r.metrics.lastSuccess.WithLabelValues(inst.Name).SetToCurrentTime()
	w.r.log.Info("reconciled", keyInstallation, inst.Name, keyCommit, short(snap.Commit), keySummary, cs.Summary(), keyDuration, elapsed.Round(time.Millisecond))
	w.mu.Lock()
	w.failures = 0
	w.status.AppliedCommit = snap.Commit
	w.status.NotReady, w.status.LastError, w.status.LastErrorTime, w.status.NextRetry = nil, "", nil, nil
	w.mu.Unlock()
	w.setPhase(Ready, cs.Summary())
	select {
	case w.r.applied <- struct{}{}:
	default:
	}
	return inst.Interval
}

// failed records err and returns the wait before the next attempt: the
// interval for errors a retry of the same commit cannot fix (its render
// fails, it would prune everything, another source owns the installation,
// or it changes immutable fields), capped exponential backoff for the rest.
func (w *worker) failed(inst Installation, cs *apply.ChangeSet, err error, elapsed time.Duration) time.Duration {
	w.r.metrics.duration.WithLabelValues(inst.Name, "failure").Observe(elapsed.Seconds())
	var (
		notReadyErr *apply.NotReadyError
		empty       *apply.EmptyRenderError
		owned       *apply.OwnershipError
		reason      = "ApplyFailed"
		next        time.Duration
	)
	w.mu.Lock()
	switch {
	case render.IsRenderError(err):
		reason, next = "RenderFailed", inst.Interval
	case errors.As(err, &empty), errors.As(err, &owned), onlyImmutable(cs):
		next = inst.Interval
	default:
		w.failures++
		next = backoff(w.r.opts.RetryBase, w.r.opts.MaxBackoff, w.failures)
	}
	if errors.As(err, &notReadyErr) {
		reason = "NotHealthy"
		w.status.NotReady = notReady(notReadyErr)
	} else {
		w.status.NotReady = nil
	}
	now := time.Now()
	w.status.LastError, w.status.LastErrorTime = err.Error(), &now
	w.status.NextRetry = timePtr(now.Add(next))
	w.mu.Unlock()
	w.setPhase(Failed, err.Error())
	w.r.events.Event(inst.Name, corev1.EventTypeWarning, reason, err.Error())
	w.r.log.Error("reconcile failed", keyInstallation, inst.Name, keyError, err, keyRetryIn, next.Round(time.Second))
	return next
}

// held records that a sync window keeps changes out until until, and
// returns when to look again. A commit not yet applied is Held; with nothing
// to apply the phase stays.
func (w *worker) held(inst Installation, snap source.Snapshot, until time.Time) time.Duration {
	now := w.r.opts.Now()
	next := inst.Interval
	msg := "sync window closed; no end within a year"
	if !until.IsZero() {
		next = min(until.Sub(now), inst.Interval)
		msg = "sync window closed until " + until.Format(time.RFC3339)
	}
	w.mu.Lock()
	pending := snap.Commit != w.status.AppliedCommit
	if !until.IsZero() {
		w.status.HeldUntil = &until
	}
	phase := w.status.Phase
	w.mu.Unlock()
	if pending {
		w.setPhase(Held, fmt.Sprintf("commit %s held: %s", short(snap.Commit), msg))
	} else {
		w.setPhase(phase, msg)
	}
	return max(next, time.Second)
}

func (w *worker) setPhase(phase Phase, message string) {
	w.mu.Lock()
	w.status.Phase, w.status.Message = phase, message
	name := w.status.Name
	w.mu.Unlock()
	w.r.metrics.setPhase(name, phase)
}

func (w *worker) snapshotStatus() InstallationStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// onlyImmutable reports whether every failure of cs is a change to an
// immutable field, which only a new commit can fix.
func onlyImmutable(cs *apply.ChangeSet) bool {
	if cs == nil {
		return false
	}
	failed := 0
	for _, c := range cs.Changes {
		if c.Action == apply.Failed {
			if !apply.IsImmutable(c.Err) {
				return false
			}
			failed++
		}
	}
	return failed > 0
}

// backoff is base·2^(failures-1), capped at limit.
func backoff(base, limit time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
