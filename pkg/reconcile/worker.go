package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	corev1 "k8s.io/api/core/v1"
)

// worker reconciles one installation: one at a time, on each new commit or
// configuration, every interval, on retry after a failure, and when drift
// is to be corrected.
type worker struct {
	r      *Reconciler
	kick   chan struct{} // buffered 1: a new commit or configuration
	poked  chan struct{} // buffered 1: drift to correct
	done   chan struct{} // closed by stop
	exited chan struct{} // closed when run returns

	mu         sync.Mutex
	inst       config.Installation
	snap       source.Snapshot
	status     InstallationStatus
	failures   int
	due        time.Time          // when the next scheduled reconcile (interval or retry) is
	recalled   bool               // the applied commit was read from the inventory
	healthy    *uint64            // the drift watch's event count when every object was last seen healthy
	cancelWait context.CancelFunc // ends the health wait under way, if any
	command    *command           // an operator's command waiting, if any
	stopOnce   sync.Once
}

func newWorker(r *Reconciler, inst config.Installation) *worker {
	return &worker{
		r: r, inst: inst,
		kick:   make(chan struct{}, 1),
		poked:  make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		status: InstallationStatus{Name: inst.Name, Path: inst.Path, Phase: Progressing},
	}
}

// update gives the worker the installation's configuration at snap; a new
// commit ends the health wait under way and resets the backoff.
func (w *worker) update(inst config.Installation, snap source.Snapshot) {
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
		signal(w.kick)
	}
}

// poke asks for a reconcile to correct drift.
func (w *worker) poke() { signal(w.poked) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
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
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		poked := false
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-w.poked:
			poked = true
		case <-timer.C:
		}
		next := w.reconcile(ctx, poked)
		w.mu.Lock()
		w.due = time.Now().Add(next)
		w.mu.Unlock()
		timer.Reset(next)
	}
}

// recall takes the applied commit from the inventory once, so that a
// restarted daemon does not take what it applied before for a new commit.
func (w *worker) recall(ctx context.Context, name string) error {
	w.mu.Lock()
	recalled := w.recalled
	w.mu.Unlock()
	if recalled {
		return nil
	}
	inv, err := w.r.inventories.Load(ctx, name)
	if err != nil {
		return fmt.Errorf("read what installation %s applied before: %w", name, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recalled = true
	if w.status.AppliedCommit == "" && source.SameIdentity(inv.Source, w.r.opts.Source) {
		w.status.AppliedCommit = inv.Commit
	}
	return nil
}

// reconcile renders, applies and waits once, records the outcome, and
// returns when to reconcile again. poked says drift asked for it: its
// failure is not a retry, so it leaves the backoff as it was.
func (w *worker) reconcile(ctx context.Context, poked bool) time.Duration {
	w.mu.Lock()
	inst, snap := w.inst, w.snap
	waitCtx, cancelWait := context.WithCancel(ctx)
	w.cancelWait = cancelWait
	w.mu.Unlock()
	defer cancelWait()
	if err := w.recall(ctx, inst.Name); err != nil {
		w.takeCommand().answer("", err)
		return w.failed(inst, nil, err, 0, poked)
	}
	if inst.BlueGreen != nil {
		// Windows hold only the switch of a cutover: the cutover decides.
		return w.reconcileBlueGreen(ctx, waitCtx, inst, snap, poked)
	}
	w.takeCommand().answer("", fmt.Errorf("installation %s: %w", inst.Name, ErrNotBlueGreen))
	if ok, until := inst.Windows.Allowed(w.r.opts.Now()); !ok {
		return w.held(inst, snap, until)
	}
	w.mu.Lock()
	w.status.HeldUntil = nil
	w.mu.Unlock()
	start := time.Now()
	w.setPhase(Progressing, "reconciling commit "+logkey.ShortSHA(snap.Commit))
	cs, err := w.applyOnce(ctx, waitCtx, inst, snap)
	elapsed := time.Since(start)
	switch {
	case err == nil:
		return w.succeeded(inst, snap, cs, elapsed)
	case waitCtx.Err() != nil && ctx.Err() == nil:
		// A newer commit or configuration arrived during the health wait.
		return 0
	default:
		return w.failed(inst, cs, err, elapsed, poked)
	}
}

// applyOnce renders, applies and waits for health.
func (w *worker) applyOnce(ctx, waitCtx context.Context, inst config.Installation, snap source.Snapshot) (*apply.ChangeSet, error) {
	set, err := w.r.renderer.Render(ctx, snap.Files, snap.Commit, inst.Path)
	if err != nil {
		return nil, err
	}
	cs, err := w.applySet(ctx, inst, snap, set, nil)
	if err != nil {
		return cs, err
	}
	return cs, w.waitHealthy(waitCtx, inst, cs)
}

// applySet applies set, keeping keep from prune, and records the outcome;
// a failure of any object is the error.
func (w *worker) applySet(ctx context.Context, inst config.Installation, snap source.Snapshot, set *render.ObjectSet, keep map[render.Key]string) (*apply.ChangeSet, error) {
	opts := ApplyOptions(w.r.opts.Apply, inst)
	opts.Keep = keep
	req := apply.Request{Installation: inst.Name, Namespace: inst.Namespace, Source: w.r.opts.Source, Fleet: w.r.fleetNames(), Commit: snap.Commit, Objects: set}
	cs, err := w.apply(ctx, req, opts)
	if err != nil {
		return cs, err
	}
	w.recordApply(cs)
	return cs, cs.Err()
}

// waitHealthy waits until the objects of cs are healthy (unless the drift
// watch says nothing changed since they last were) and records their
// health; objects deleted and not put back are an error too.
func (w *worker) waitHealthy(ctx context.Context, inst config.Installation, cs *apply.ChangeSet) error {
	missing := w.missing(cs)
	if !w.needsHealthCheck(inst.Name, cs) {
		w.recordHealth(objectChanges(cs, true, nil))
		return missing
	}
	w.setPhase(Progressing, cs.Summary()+"; waiting for the objects to become healthy")
	var events uint64
	watched := false
	if w.r.drift != nil {
		events, watched = w.r.drift.Watched(inst.Name)
	}
	err := w.r.applier.Wait(ctx, cs, inst.Timeout)
	changes := objectChanges(cs, true, err)
	w.mu.Lock()
	w.healthy = nil
	if err == nil && watched {
		w.healthy = &events
	}
	w.mu.Unlock()
	w.recordHealth(changes)
	if err == nil {
		err = missing
	}
	return err
}

// apply applies with drift detection paused, so that gitopsd's own writes
// and prunes are not drift, and tells the detector what the installation
// owns after it, even when the apply failed part way.
func (w *worker) apply(ctx context.Context, req apply.Request, opts apply.Options) (*apply.ChangeSet, error) {
	d := w.r.drift
	if d == nil {
		return w.r.applier.Apply(ctx, req, opts)
	}
	opts.Hold = d.Holds(req.Installation)
	d.Pause(req.Installation)
	cs, err := w.r.applier.Apply(ctx, req, opts)
	if cs != nil && !cs.DryRun {
		d.Track(drift.Applied{Request: req, Options: opts, Owned: cs.Owned})
	} else {
		d.Resume(req.Installation)
	}
	return cs, err
}

// needsHealthCheck reports whether the objects must be looked at for
// health: after a write, and unless the drift watch has seen every kind and
// no event of them since every object was last found healthy.
func (w *worker) needsHealthCheck(name string, cs *apply.ChangeSet) bool {
	counts := cs.Counts()
	w.mu.Lock()
	healthy := w.healthy
	w.mu.Unlock()
	if counts[apply.Created]+counts[apply.Configured]+counts[apply.Deleted] > 0 || healthy == nil || w.r.drift == nil {
		return true
	}
	events, ok := w.r.drift.Watched(name)
	return !ok || events != *healthy
}

// missingError lists applied objects that are not in the cluster and were
// not put back: their drift is held or only reported.
type missingError struct {
	objects []NotReady
}

func (e *missingError) Error() string {
	parts := make([]string, len(e.objects))
	for i, o := range e.objects {
		parts[i] = o.Object + " (" + o.Message + ")"
	}
	return fmt.Sprintf("%d object(s) deleted in the cluster and not put back: %s", len(e.objects), strings.Join(parts, "; "))
}

// missing returns a *missingError for the objects of cs that the apply
// skipped and the drift detector saw deleted; nil when there are none.
func (w *worker) missing(cs *apply.ChangeSet) error {
	if w.r.drift == nil {
		return nil
	}
	deleted := map[render.Key]bool{}
	for _, rep := range w.r.drift.Reports(cs.Installation) {
		if rep.Deleted {
			deleted[rep.Key] = true
		}
	}
	var out []NotReady
	for _, c := range cs.Changes {
		if c.Action == apply.Skipped && deleted[c.Key] {
			out = append(out, NotReady{Object: c.Key.String(), Status: "Deleted", Message: c.Reason})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &missingError{objects: out}
}

func (w *worker) recordApply(cs *apply.ChangeSet) {
	counts := cs.Counts()
	if counts[apply.Created]+counts[apply.Configured] > 0 {
		w.r.events.Event(cs.Installation, corev1.EventTypeNormal, "Applied", fmt.Sprintf("commit %s: %s", logkey.ShortSHA(cs.Commit), cs.Summary()))
	}
	if counts[apply.Deleted] > 0 {
		w.r.events.Event(cs.Installation, corev1.EventTypeNormal, "Pruned", fmt.Sprintf("commit %s: %d object(s) deleted", logkey.ShortSHA(cs.Commit), counts[apply.Deleted]))
	}
	w.r.metrics.observeChanges(cs.Installation, cs)
	now := time.Now()
	changes := objectChanges(cs, false, nil)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Objects = actionCounts(cs)
	w.status.LastApplyCommit, w.status.Changes = cs.Commit, changes
	w.status.LastApplyTime = &now
	w.status.LastApplyDuration = cs.Duration.Round(time.Millisecond).String()
}

// recordHealth replaces the last apply's changes with the same carrying
// their health; a new slice, as status copies share the old one.
func (w *worker) recordHealth(changes []ObjectChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Changes = changes
}

func (w *worker) succeeded(inst config.Installation, snap source.Snapshot, cs *apply.ChangeSet, elapsed time.Duration) time.Duration {
	w.r.metrics.duration.WithLabelValues(inst.Name, "success").Observe(elapsed.Seconds())
	w.r.metrics.lastSuccess.WithLabelValues(inst.Name).SetToCurrentTime()
	w.mu.Lock()
	newCommit := w.status.AppliedCommit != snap.Commit
	w.failures = 0
	w.status.AppliedCommit = snap.Commit
	w.status.NotReady, w.status.LastError, w.status.LastErrorTime, w.status.NextRetry = nil, "", nil, nil
	w.mu.Unlock()
	counts := cs.Counts()
	level := slog.LevelInfo
	if !newCommit && counts[apply.Created]+counts[apply.Configured]+counts[apply.Deleted] == 0 {
		level = slog.LevelDebug // a periodic reconcile that found nothing to do
	}
	w.r.log.Log(context.Background(), level, "reconciled", logkey.Installation, inst.Name, logkey.Commit, snap.Commit, logkey.Summary, cs.Summary(), logkey.Duration, elapsed.Round(time.Millisecond))
	w.setPhase(Ready, cs.Summary())
	if newCommit {
		signal(w.r.applied)
	}
	return inst.Interval
}

// failed records err and returns the wait before the next attempt: the
// interval for errors a retry of the same commit cannot fix (its render
// fails, it would prune everything, or it changes immutable fields, or
// objects are missing that the drift detector holds or reports), capped
// exponential backoff for the rest, an ownership error included: it ends
// as soon as the other owner lets go. A reconcile poked by drift that fails
// is not a retry: the backoff and the next attempt stay as they were.
func (w *worker) failed(inst config.Installation, cs *apply.ChangeSet, err error, elapsed time.Duration, poked bool) time.Duration {
	w.r.metrics.duration.WithLabelValues(inst.Name, "failure").Observe(elapsed.Seconds())
	var (
		notReadyErr *apply.NotReadyError
		empty       *apply.EmptyRenderError
		missing     *missingError
		cutover     *cutoverError
		reason      = "ApplyFailed"
		next        time.Duration
	)
	w.mu.Lock()
	switch {
	case render.IsRenderError(err):
		reason, next = "RenderFailed", inst.Interval
	case errors.As(err, &missing):
		reason, next = "ObjectsMissing", inst.Interval
	case errors.As(err, &empty), onlyImmutable(cs):
		next = inst.Interval
	case errors.As(err, &cutover):
		reason, next = "CutoverFailed", inst.Interval
	case poked && w.failures > 0 && time.Until(w.due) > 0:
		next = time.Until(w.due)
	default:
		w.failures++
		next = backoff(w.r.opts.RetryBase, w.r.opts.MaxBackoff, w.failures)
	}
	switch {
	case errors.As(err, &notReadyErr):
		reason = "NotHealthy"
		w.status.NotReady = notReady(notReadyErr)
	case missing != nil:
		w.status.NotReady = missing.objects
	default:
		w.status.NotReady = nil
	}
	now := time.Now()
	w.status.LastError, w.status.LastErrorTime = err.Error(), &now
	w.status.NextRetry = timePtr(now.Add(next))
	w.mu.Unlock()
	w.setPhase(Failed, err.Error())
	w.r.events.Event(inst.Name, corev1.EventTypeWarning, reason, err.Error())
	w.r.log.Error("reconcile failed", logkey.Installation, inst.Name, logkey.Error, err, logkey.RetryIn, next.Round(time.Second))
	return next
}

// held records that a sync window keeps changes out until until, and
// returns when to look again. A commit not yet applied is Held; with nothing
// to apply the phase stays.
func (w *worker) held(inst config.Installation, snap source.Snapshot, until time.Time) time.Duration {
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
		w.setPhase(Held, fmt.Sprintf("commit %s held: %s", logkey.ShortSHA(snap.Commit), msg))
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
