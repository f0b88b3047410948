package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// Snapshots is what the reconciler needs from the source: the latest
// snapshot and a signal when it changes.
type Snapshots interface {
	Latest() (source.Snapshot, bool)
	Updates() <-chan struct{}
}

// Applier is what the reconciler needs from the apply engine.
type Applier interface {
	Apply(ctx context.Context, req apply.Request, opts apply.Options) (*apply.ChangeSet, error)
	Wait(ctx context.Context, cs *apply.ChangeSet, timeout time.Duration) error
}

// Inventories is what the reconciler needs to find and forget the
// installations removed from gitopsd.yaml; it runs their watch.
type Inventories interface {
	List(ctx context.Context) ([]string, error)
	Load(ctx context.Context, installation string) (*inventory.Inventory, error)
	Delete(ctx context.Context, installation string) error
	Run(ctx context.Context) error
}

// Drift is what the reconciler needs from the drift detector.
type Drift interface {
	Track(a drift.Applied)
	Pause(name string)
	Resume(name string)
	Forget(name string)
	Holds(name string) map[render.Key]string
	Reports(name string) []drift.Report
	Problems(name string) []string
	Watched(name string) (events uint64, ok bool)
	Run(ctx context.Context, c drift.Corrector) error
}

var (
	_ Drift           = (*drift.Detector)(nil)
	_ Snapshots       = (*source.Poller)(nil)
	_ Applier         = (*apply.Manager)(nil)
	_ drift.Corrector = (*Reconciler)(nil)
)

// Deps are what a Reconciler works with.
type Deps struct {
	Snapshots   Snapshots
	Renderer    *render.Renderer
	Applier     Applier
	Inventories Inventories
	// Drift, when set, detects drift; the reconciler runs it.
	Drift Drift
	// Events default to none, Metrics to unregistered collectors, Log to
	// discarding.
	Events  Events
	Metrics *Metrics
	Log     *slog.Logger
	// Reachability, when set, puts API server outages in the status.
	Reachability *Reachability
	// Cutovers, when set, drives blue/green installations; without it,
	// an installation with a blueGreen block fails.
	Cutovers Cutovers
}

// Reconciler keeps the cluster in step with the repository.
type Reconciler struct {
	snapshots   Snapshots
	renderer    *render.Renderer
	applier     Applier
	inventories Inventories
	drift       Drift // nil: no drift detection
	events      Events
	metrics     *Metrics
	log         *slog.Logger
	reach       *Reachability
	cutovers    Cutovers // nil: no blue/green installations
	opts        Options

	mu             sync.Mutex
	status         Status
	fleet          []string // the installations of the last valid gitopsd.yaml
	workers        map[string]*worker
	hadConfig      bool   // a commit of this run had gitopsd.yaml
	logged         string // the last problem of sync logged, so each is logged once
	removeFailures int
	stopWork       context.CancelFunc // set by Run: cancels applies under way
	applied        chan struct{}      // buffered 1: an installation applied a new commit
}

// New returns a Reconciler; Run starts it.
func New(deps Deps, opts Options) (*Reconciler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if deps.Snapshots == nil || deps.Renderer == nil || deps.Applier == nil || deps.Inventories == nil {
		return nil, errors.New("reconcile: Snapshots, Renderer, Applier and Inventories are required")
	}
	if deps.Events == nil {
		deps.Events = noEvents{}
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{
		snapshots: deps.Snapshots, renderer: deps.Renderer, applier: deps.Applier, inventories: deps.Inventories,
		drift: deps.Drift, events: deps.Events, metrics: deps.Metrics, log: deps.Log, reach: deps.Reachability, cutovers: deps.Cutovers, opts: opts,
		workers: map[string]*worker{},
		applied: make(chan struct{}, 1),
	}, nil
}

// Abort cancels the applies under way at once, without the grace of a
// shutdown: another replica may be applying already.
func (r *Reconciler) Abort() {
	r.mu.Lock()
	stop := r.stopWork
	r.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Correctable reports whether an installation's sync windows let drift be
// corrected now, and if not, until when they hold it.
func (r *Reconciler) Correctable(name string) (bool, string) {
	w := r.worker(name)
	if w == nil {
		return false, "not reconciled by this replica"
	}
	w.mu.Lock()
	windows := w.inst.Windows
	w.mu.Unlock()
	if ok, until := windows.Allowed(r.opts.Now()); !ok {
		if until.IsZero() {
			return false, "sync window closed"
		}
		return false, "sync window closed until " + until.Format(time.RFC3339)
	}
	return true, ""
}

// Trigger reconciles an installation now, to correct its drift (or for a
// test that moved the clock). It does not count as a retry of a failure.
func (r *Reconciler) Trigger(name string) {
	if w := r.worker(name); w != nil {
		w.poke()
	}
}

func (r *Reconciler) worker(name string) *worker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.workers[name]
}

// Run follows snapshots until ctx ends; then it lets the applies under way
// finish (within ShutdownGrace) and returns.
func (r *Reconciler) Run(ctx context.Context) error {
	// The inventory watch serves the applies until the last has finished.
	invCtx, stopInventories := context.WithCancel(context.WithoutCancel(ctx))
	invDone := make(chan struct{})
	go func() {
		defer close(invDone)
		if err := r.inventories.Run(invCtx); err != nil {
			r.log.Error("inventory watch stopped", logkey.Error, err)
		}
	}()
	defer func() { stopInventories(); <-invDone }()
	// Workers apply with a context that outlives ctx by the grace period,
	// so that shutdown never cuts an apply between its inventory writes.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	r.mu.Lock()
	r.stopWork = stopWork
	r.mu.Unlock()
	var wg sync.WaitGroup
	defer func() {
		r.stopWorkers()
		timer := time.AfterFunc(r.opts.ShutdownGrace, stopWork)
		defer timer.Stop()
		wg.Wait()
	}()
	if r.drift != nil {
		wg.Go(func() { r.runDrift(ctx) })
	}
	if r.cutovers != nil {
		wg.Go(func() {
			if err := r.cutovers.Watch(ctx, r.Trigger); err != nil {
				r.log.Error("watch of coloured Deployments stopped; a failing colour is switched back at the next reconcile", logkey.Error, err)
			}
		})
	}
	var retry <-chan time.Time // set while a removal waits to be tried again
	for {
		if snap, ok := r.snapshots.Latest(); ok {
			retry = nil
			if again := r.sync(work, &wg, snap); again > 0 {
				retry = time.After(again)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.snapshots.Updates():
		case <-r.applied:
			// Removals waiting for the others may go ahead.
		case <-retry:
		}
	}
}

// runDrift runs the detector; should it stop before ctx ends, the status
// says so.
func (r *Reconciler) runDrift(ctx context.Context) {
	err := r.drift.Run(ctx, r)
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		err = errors.New("stopped without an error")
	}
	r.log.Error("drift detection stopped; drift is seen at the next interval only", logkey.Error, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.DriftError = "drift detection stopped: " + err.Error()
}

// sync reads gitopsd.yaml of snap and starts, updates and removes workers.
// It returns when to look again at removals that failed; 0 when none did.
func (r *Reconciler) sync(ctx context.Context, wg *sync.WaitGroup, snap source.Snapshot) time.Duration {
	cfg, err := config.Load(snap.Files, r.opts.Name)
	if err == nil && cfg.File == "" {
		err = r.checkImplicit(ctx)
	}
	r.mu.Lock()
	r.status.Commit, r.status.ConfigError = snap.Commit, ""
	if err != nil {
		r.status.ConfigError = err.Error()
	} else {
		// Known before any worker applies: an installation not in it
		// gives its objects up (apply.Request.Fleet).
		r.fleet = cfg.Names()
		r.hadConfig = r.hadConfig || cfg.File != ""
	}
	r.mu.Unlock()
	if err != nil {
		r.logOnce(snap.Commit+err.Error(), "invalid configuration; installations keep following the last valid one", slog.String(logkey.Commit, snap.Commit), slog.Any(logkey.Error, err))
		return 0
	}
	wanted := map[string]bool{}
	for _, inst := range cfg.Installations {
		wanted[inst.Name] = true
		r.mu.Lock()
		w, ok := r.workers[inst.Name]
		if !ok {
			w = newWorker(r, inst)
			r.workers[inst.Name] = w
			wg.Go(func() { w.run(ctx) })
		}
		r.mu.Unlock()
		w.update(inst, snap)
	}
	return r.removeUnwanted(ctx, wanted, snap.Commit)
}

// checkImplicit accepts a repository without gitopsd.yaml as one
// installation only if it never had the file. One that had it and lost it
// is a configuration error: taken as one installation, it would stop (and
// could prune) every installation the file listed.
func (r *Reconciler) checkImplicit(ctx context.Context) error {
	implicit := config.Implicit(r.opts.Name).Installations[0].Name
	r.mu.Lock()
	had := r.hadConfig
	var listed []string
	for name := range r.workers {
		listed = append(listed, name)
	}
	r.mu.Unlock()
	if !had {
		var err error
		if listed, err = r.inventoriesOfSource(ctx, implicit); err != nil {
			return fmt.Errorf("%s is missing, and whether the repository had one cannot be told: %w", config.FileName, err)
		}
		if len(listed) == 0 {
			return nil
		}
	}
	sort.Strings(listed)
	kept := "they keep their last applied commit and drift is still corrected"
	if !had {
		kept = "they stay as last applied" // a restart lost what they applied
	}
	return fmt.Errorf("%s is missing, but the repository had one listing %v: %s; nothing is applied or pruned until the file is back. To make the repository one installation, list it in %s with path: .",
		config.FileName, listed, kept, config.FileName)
}

// inventoriesOfSource lists the installations this source applied, but
// except.
func (r *Reconciler) inventoriesOfSource(ctx context.Context, except string) ([]string, error) {
	names, err := r.inventories.List(ctx)
	if err != nil {
		return nil, err
	}
	var ours []string
	for _, name := range names {
		if name == except {
			continue
		}
		inv, err := r.inventories.Load(ctx, name)
		if err != nil {
			return nil, err
		}
		if source.SameIdentity(inv.Source, r.opts.Source) {
			ours = append(ours, name)
		}
	}
	return ours, nil
}

// logOnce logs an error once for each distinct key.
func (r *Reconciler) logOnce(key, msg string, attrs ...slog.Attr) {
	r.mu.Lock()
	first := r.logged != key
	r.logged = key
	r.mu.Unlock()
	if first {
		r.log.LogAttrs(context.Background(), slog.LevelError, msg, attrs...)
	}
}

// fleetNames returns the installations of the last valid gitopsd.yaml.
func (r *Reconciler) fleetNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fleet
}

func (r *Reconciler) stopWorkers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		w.stop()
	}
}

// Status returns the current state of every installation, sorted by name.
func (r *Reconciler) Status() Status {
	r.mu.Lock()
	s := r.status
	workers := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		workers = append(workers, w)
	}
	r.mu.Unlock()
	// The detector is asked with no lock held: it calls Correctable.
	s.Installations = make([]InstallationStatus, 0, len(workers))
	for _, w := range workers {
		st := w.snapshotStatus()
		if r.drift != nil {
			st.Drift = driftStatus(r.drift.Reports(st.Name))
			st.DriftProblems = r.drift.Problems(st.Name)
		}
		s.Installations = append(s.Installations, st)
	}
	if r.reach != nil {
		s.Cluster = r.reach.Status()
	}
	sort.Slice(s.Installations, func(i, j int) bool { return s.Installations[i].Name < s.Installations[j].Name })
	return s
}

type noEvents struct{}

func (noEvents) Event(string, string, string, string) {}
