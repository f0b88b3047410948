package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	corev1 "k8s.io/api/core/v1"
)

// Cutovers drives the cutovers of blue/green installations;
// bluegreen.Cutover implements it.
type Cutovers interface {
	Reconcile(ctx context.Context, in bluegreen.Input) bluegreen.Result
	Forget(ctx context.Context, installation string) error
	// Watch calls trigger with an installation whose colour lost its
	// availability, until ctx ends.
	Watch(ctx context.Context, trigger func(installation string)) error
}

var _ Cutovers = (*bluegreen.Cutover)(nil)

// BlueGreenSpec is the cutover spec of an installation's blueGreen block:
// the one place it becomes one.
func BlueGreenSpec(bg *config.BlueGreen) bluegreen.Spec {
	return bluegreen.Spec{Deployment: bg.Deployment, Services: bg.Services, PreviewService: bg.PreviewService, PreCutover: bg.PreCutover,
		ScaleDownDelay: bg.ScaleDownDelay, RequireMergedPR: bg.RequireMergedPR, AutoPromote: bg.AutoPromote}
}

// ErrNotReconciled is returned for a command to an installation that this
// replica does not reconcile: another replica leads, or no gitopsd.yaml
// was read yet.
var ErrNotReconciled = errors.New("not reconciled by this replica")

// ErrNoInstallation is returned for a command to an installation that the
// fleet's gitopsd.yaml does not list.
var ErrNoInstallation = errors.New("no installation")

// ErrNotBlueGreen is returned for a command to an installation without a
// blueGreen block.
var ErrNotBlueGreen = errors.New("not a blue/green installation")

// command is an operator's request waiting for the worker.
type command struct {
	cmd   bluegreen.Command
	reply chan commandReply // buffered 1
}

type commandReply struct {
	message string
	err     error
}

// Promote releases installation name's held cutover, ends the hold of a
// rollback or tries a failed cutover again; see bluegreen.Promote. It
// returns once the worker has done it, with what the installation does
// now.
func (r *Reconciler) Promote(ctx context.Context, name string) (string, error) {
	return r.command(ctx, name, bluegreen.Promote)
}

// Rollback switches installation name's traffic back to its other colour;
// see bluegreen.Rollback. It returns once the Services are switched.
func (r *Reconciler) Rollback(ctx context.Context, name string) (string, error) {
	return r.command(ctx, name, bluegreen.Rollback)
}

func (r *Reconciler) command(ctx context.Context, name string, cmd bluegreen.Command) (string, error) {
	w := r.worker(name)
	if w == nil {
		return "", r.notReconciled(name)
	}
	c := &command{cmd: cmd, reply: make(chan commandReply, 1)}
	w.mu.Lock()
	switch {
	case w.inst.BlueGreen == nil:
		w.mu.Unlock()
		return "", fmt.Errorf("installation %s: %w", name, ErrNotBlueGreen)
	case w.command != nil:
		w.mu.Unlock()
		return "", fmt.Errorf("installation %s: a %s is under way; try again when it is done", name, w.command.cmd)
	}
	w.command = c
	if w.cancelWait != nil {
		w.cancelWait() // a wait under way gives way to the command
	}
	w.mu.Unlock()
	signal(w.kick)
	select {
	case rep := <-c.reply:
		return rep.message, rep.err
	case <-ctx.Done():
		return "", fmt.Errorf("%s of installation %s: %w", cmd, name, ctx.Err())
	}
}

// notReconciled says why this replica has no worker for installation
// name: the fleet does not list it, or another replica reconciles it.
func (r *Reconciler) notReconciled(name string) error {
	fleet := r.fleetNames()
	if fleet == nil || slices.Contains(fleet, name) {
		return fmt.Errorf("installation %s: %w", name, ErrNotReconciled)
	}
	listed := strings.Join(fleet, ", ")
	if len(fleet) > 10 {
		listed = fmt.Sprintf("%s and %d more", strings.Join(fleet[:10], ", "), len(fleet)-10)
	}
	return fmt.Errorf("%w %s in %s (it lists %s)", ErrNoInstallation, name, config.FileName, listed)
}

// takeCommand returns the command waiting, if any.
func (w *worker) takeCommand() *command {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.command
	w.command = nil
	return c
}

// answer replies to c, unless it is nil.
func (c *command) answer(message string, err error) {
	if c != nil {
		c.reply <- commandReply{message: message, err: err}
	}
}

// reconcileBlueGreen renders and hands the installation to the cutover,
// which applies through the worker (inventory, drift, health, status), and
// turns its outcome into the installation's status.
func (w *worker) reconcileBlueGreen(ctx, waitCtx context.Context, inst config.Installation, snap source.Snapshot, poked bool) time.Duration {
	cmd := w.takeCommand()
	if w.r.cutovers == nil {
		err := errors.New("blueGreen is not available: this daemon runs without cutovers")
		cmd.answer("", err)
		return w.failed(inst, nil, err, 0, poked)
	}
	start := time.Now()
	w.setPhase(Progressing, "reconciling commit "+logkey.ShortSHA(snap.Commit))
	set, err := w.r.renderer.Render(ctx, snap.Files, snap.Commit, inst.Path)
	if err != nil {
		cmd.answer("", err)
		return w.failed(inst, nil, err, 0, poked)
	}
	w.mu.Lock()
	applied := w.status.AppliedCommit
	w.mu.Unlock()
	applier := &colourApplier{w: w, ctx: ctx, inst: inst, snap: snap}
	in := bluegreen.Input{
		Installation: inst.Name, Namespace: inst.Namespace, Spec: BlueGreenSpec(inst.BlueGreen),
		Commit: snap.Commit, Applied: applied, Objects: set, Timeout: inst.Timeout, Windows: inst.Windows,
		Applier: applier, Observe: w.observeCutover,
	}
	if cmd != nil {
		in.Command = cmd.cmd
	}
	res := w.r.cutovers.Reconcile(waitCtx, in)
	w.mu.Lock()
	if res.Status != nil {
		w.status.BlueGreen = res.Status
	}
	w.status.HeldUntil = nil
	if !res.HeldUntil.IsZero() {
		w.status.HeldUntil = &res.HeldUntil
	}
	w.mu.Unlock()
	cmd.answer(res.Message, res.Reply)
	w.logCommand(inst.Name, snap.Commit, cmd, res)
	elapsed := time.Since(start)
	cs := res.ChangeSet
	switch res.Outcome {
	case bluegreen.Ready:
		next := w.succeeded(inst, snap, orEmpty(cs), elapsed)
		if res.Message != "" {
			w.setPhase(Ready, res.Message)
		}
		return w.until(next, res.Next)
	case bluegreen.Held:
		w.mu.Lock()
		w.failures = 0
		w.status.NotReady, w.status.LastError, w.status.LastErrorTime, w.status.NextRetry = nil, "", nil, nil
		w.mu.Unlock()
		w.setPhase(Held, res.Message)
		return w.until(inst.Interval, res.Next)
	case bluegreen.Interrupted:
		return 0
	}
	err = res.Err
	if res.Terminal {
		err = &cutoverError{err: err}
	}
	return w.failed(inst, cs, err, elapsed, poked)
}

// logCommand logs the outcome of an operator's command, if any.
func (w *worker) logCommand(name, commit string, cmd *command, res bluegreen.Result) {
	switch {
	case cmd == nil:
	case res.Reply != nil:
		w.r.log.Warn("command refused", logkey.Installation, name, logkey.Commit, commit, logkey.Action, cmd.cmd, logkey.Error, res.Reply)
	default:
		w.r.log.Info("command done", logkey.Installation, name, logkey.Commit, commit, logkey.Action, cmd.cmd, logkey.Message, res.Message)
	}
}

// until is next, or the time left until at when that comes sooner (by the
// reconciler's clock); never less than a tick.
func (w *worker) until(next time.Duration, at time.Time) time.Duration {
	if !at.IsZero() {
		next = min(next, at.Sub(w.r.opts.Now()))
	}
	return max(next, 10*time.Millisecond)
}

// observeCutover shows a cutover's progress while the reconcile goes on,
// and records each step as an event.
func (w *worker) observeCutover(s bluegreen.Status) {
	w.mu.Lock()
	prev := w.status.BlueGreen
	w.status.BlueGreen = &s
	name := w.status.Name
	w.mu.Unlock()
	a := s.Cutover
	if a == nil || len(a.Events) == 0 {
		return
	}
	last := a.Events[len(a.Events)-1]
	if prev != nil && prev.Cutover != nil && len(prev.Cutover.Events) > 0 && prev.Cutover.Events[len(prev.Cutover.Events)-1] == last {
		return
	}
	eventType := corev1.EventTypeNormal
	if a.Failed() {
		eventType = corev1.EventTypeWarning
	}
	w.r.events.Event(name, eventType, "Cutover", last.Message)
	w.r.log.Info("cutover step", logkey.Installation, name, logkey.Commit, a.Commit, logkey.Cutover, a.Number,
		logkey.Step, last.Step, logkey.Message, last.Message)
	if a.Active() {
		w.setPhase(Progressing, last.Message)
	}
}

// cutoverError is a cutover that failed for good: only a new commit or
// gitopsd promote starts another.
type cutoverError struct{ err error }

func (e *cutoverError) Error() string { return e.err.Error() }
func (e *cutoverError) Unwrap() error { return e.err }

// colourApplier is the worker's apply and health wait, for the cutover.
// Applies run under the worker's own context, not the one the cutover
// waits with: a newer commit or a command cuts a wait short, never an
// apply between its inventory writes.
type colourApplier struct {
	w    *worker
	ctx  context.Context
	inst config.Installation
	snap source.Snapshot
}

var _ bluegreen.Applier = (*colourApplier)(nil)

func (a *colourApplier) Apply(_ context.Context, objs *render.ObjectSet, keep map[render.Key]string) (*apply.ChangeSet, error) {
	return a.w.applySet(a.ctx, a.inst, a.snap, objs, keep)
}

func (a *colourApplier) Wait(ctx context.Context, cs *apply.ChangeSet) error {
	return a.w.waitHealthy(ctx, a.inst, cs)
}

func orEmpty(cs *apply.ChangeSet) *apply.ChangeSet {
	if cs == nil {
		return &apply.ChangeSet{}
	}
	return cs
}
