package reconcile

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
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
// installations removed from gitopsd.yaml.
type Inventories interface {
	List(ctx context.Context) ([]string, error)
	Load(ctx context.Context, installation string) (*inventory.Inventory, error)
	Delete(ctx context.Context, installation string) error
}

// Drift is what the reconciler needs from the drift detector.
type Drift interface {
	Track(inst drift.Installation)
	Pause(name string)
	Resume(name string)
	Forget(name string)
	Holds(name string) map[render.Key]string
	Reports(name string) []drift.Report
	Run(ctx context.Context) error
}

var (
	_ Drift       = (*drift.Detector)(nil)
	_ Snapshots   = (*source.Poller)(nil)
	_ Applier     = (*apply.Manager)(nil)
	_ Inventories = (*inventory.Store)(nil)
)

// Options tune the loop.
type Options struct {
	// Source identifies this daemon's repository and ref. It is recorded
	// in inventories: an installation owned by another source is not
	// applied, and only this source's removed installations are pruned.
	Source string
	// Load reads the installations of a snapshot.
	Load Loader
	// RetryBase is the first wait after a failure; it doubles per failure.
	RetryBase time.Duration
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration
	// ShutdownGrace lets an apply under way finish after shutdown begins.
	ShutdownGrace time.Duration
	// Apply holds engine options every installation starts from.
	Apply apply.Options
	// Now is the clock sync windows are read with; tests replace it.
	Now func() time.Time
}

// DefaultOptions retry after 5s, doubling up to 5m, and give an apply 30s to
// finish at shutdown.
func DefaultOptions() Options {
	return Options{RetryBase: 5 * time.Second, MaxBackoff: 5 * time.Minute, ShutdownGrace: 30 * time.Second, Apply: apply.DefaultOptions(), Now: time.Now}
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
	opts        Options

	mu         sync.Mutex
	waitLogged string   // the commit whose removals were logged as waiting
	fleet      []string // the installations of the last valid gitopsd.yaml
	status     Status
	workers    map[string]*worker
	stopWork   context.CancelFunc // set by Run: cancels applies under way
	applied    chan struct{}      // buffered 1: an installation applied a commit
}

// New returns a Reconciler; Run starts it. Add drift detection with
// SetDrift before Run.
func New(snapshots Snapshots, renderer *render.Renderer, applier Applier, inventories Inventories, events Events, metrics *Metrics, log *slog.Logger, opts Options) *Reconciler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reconciler{
		snapshots: snapshots, renderer: renderer, applier: applier, inventories: inventories,
		events: events, metrics: metrics, log: log, opts: opts,
		workers: map[string]*worker{},
		applied: make(chan struct{}, 1),
	}
}

// SetDrift adds drift detection; the reconciler runs the detector.
func (r *Reconciler) SetDrift(d Drift) { r.drift = d }

// Abort cancels the applies under way at once, without the grace of a
// shutdown: another replica may be applying already.
func (r *Reconciler) Abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopWork != nil {
		r.stopWork()
	}
}

// Correctable reports whether an installation's sync windows let drift be
// corrected now, and if not, until when they hold it.
func (r *Reconciler) Correctable(name string) (bool, string) {
	r.mu.Lock()
	w := r.workers[name]
	r.mu.Unlock()
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

var _ drift.Corrector = (*Reconciler)(nil)

// Trigger reconciles an installation now (a drift correction, or a test
// that moved the clock).
func (r *Reconciler) Trigger(name string) {
	r.mu.Lock()
	w := r.workers[name]
	r.mu.Unlock()
	if w != nil {
		w.trigger()
	}
}

// Run follows snapshots until ctx ends; then it lets the applies under way
// finish (within ShutdownGrace) and returns.
func (r *Reconciler) Run(ctx context.Context) error {
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.drift.Run(ctx)
		}()
	}
	// Removals wait for the other installations and may fail; look again
	// every few seconds.
	retry := time.NewTicker(10 * time.Second)
	defer retry.Stop()
	for {
		if snap, ok := r.snapshots.Latest(); ok {
			r.sync(work, &wg, snap)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.snapshots.Updates():
		case <-r.applied:
			// Removals waiting for the others may go ahead.
		case <-retry.C:
			// Retry removals that failed; the snapshot is the same.
		}
	}
}

// sync reads gitopsd.yaml of snap and starts, updates and removes workers.
func (r *Reconciler) sync(ctx context.Context, wg *sync.WaitGroup, snap source.Snapshot) {
	fleet, err := r.opts.Load(snap.Files)
	r.mu.Lock()
	r.status.Commit = snap.Commit
	r.status.ConfigError = ""
	if err != nil {
		r.status.ConfigError = err.Error()
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Error("invalid configuration; installations keep following the last valid one", keyCommit, snap.Commit, keyError, err)
		return
	}
	// The whole fleet is known before any worker applies: an installation
	// missing from it gives its objects up (apply.Request.Fleet).
	names := make([]string, 0, len(fleet.Installations))
	for _, inst := range fleet.Installations {
		names = append(names, inst.Name)
	}
	r.mu.Lock()
	r.fleet = names
	r.mu.Unlock()
	wanted := map[string]bool{}
	for _, inst := range fleet.Installations {
		wanted[inst.Name] = true
		r.mu.Lock()
		w, ok := r.workers[inst.Name]
		if !ok {
			w = newWorker(r, inst)
			r.workers[inst.Name] = w
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(ctx)
			}()
		}
		r.mu.Unlock()
		w.update(inst, snap)
	}
	if fleet.Implicit {
		// Without gitopsd.yaml the repository is one installation. If the
		// file was deleted by mistake, removing the installations it listed
		// would prune everything, so they are only stopped.
		r.stopUnwanted(wanted)
		return
	}
	r.removeUnwanted(ctx, wanted, snap.Commit)
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
	defer r.mu.Unlock()
	s := r.status
	s.Installations = make([]InstallationStatus, 0, len(r.workers))
	for name, w := range r.workers {
		st := w.snapshotStatus()
		if r.drift != nil {
			st.Drift = driftStatus(r.drift.Reports(name))
		}
		s.Installations = append(s.Installations, st)
	}
	sort.Slice(s.Installations, func(i, j int) bool { return s.Installations[i].Name < s.Installations[j].Name })
	return s
}

// Log keys.
const (
	keyInstallation = "installation"
	keyCommit       = "commit"
	keyError        = "error"
	keySummary      = "summary"
	keyDuration     = "duration"
	keyRetryIn      = "retryIn"
)
