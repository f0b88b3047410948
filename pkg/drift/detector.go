package drift

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"
)

// Checker confirms drift; apply.Manager implements it.
type Checker interface {
	CheckDrift(ctx context.Context, req apply.Request, opts apply.Options, keys []render.Key) ([]apply.Drift, error)
}

// Mapper finds the API resource of a kind; apply.Manager implements it.
type Mapper interface {
	Resource(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error)
}

// Corrector reconciles an installation to correct its drift; the
// reconciler implements it. The detector calls it with no lock held.
type Corrector interface {
	// Correctable reports whether the installation's drift may be
	// corrected now and, if not, why (a sync window is closed).
	Correctable(name string) (bool, string)
	// Trigger reconciles the installation.
	Trigger(name string)
}

// Recorder records Kubernetes Events on drifted objects.
type Recorder interface {
	ObjectEvent(ref corev1.ObjectReference, eventType, reason, message string)
}

var (
	_ Checker = (*apply.Manager)(nil)
	_ Mapper  = (*apply.Manager)(nil)
)

// Applied is what an apply of an installation left in the cluster: the
// request and options it applied with, and what it owns now. The
// installation is the request's; its drift policy is the options'
// (ReportDrift reports, otherwise drift is corrected).
type Applied struct {
	Request apply.Request
	Options apply.Options
	Owned   []inventory.Entry
}

func (a Applied) name() string  { return a.Request.Installation }
func (a Applied) correct() bool { return !a.Options.ReportDrift }

// Action is what the detector did about a drift.
type Action string

const (
	Corrected Action = "corrected"
	Reported  Action = "reported"
	Held      Action = "held"
)

// Report is one drifted object.
type Report struct {
	Key        render.Key
	Deleted    bool
	Fields     []string
	Managers   []string
	DetectedAt time.Time
	Action     Action
	// Message explains a hold, such as a fight with another writer.
	Message string
}

// Deps are what a Detector works with.
type Deps struct {
	// Metadata lists and watches the managed objects' metadata.
	Metadata metadata.Interface
	Mapper   Mapper
	Checker  Checker
	// Recorder, when set, records an Event on each drifted object.
	Recorder Recorder
	// Metrics default to unregistered collectors; Log to discarding.
	Metrics *Metrics
	Log     *slog.Logger
}

// Options tune the detector.
type Options struct {
	// FightCorrections corrections of one object within FightWindow make
	// a fight: the object is held for FightBackoff, doubling per fight up
	// to MaxFightBackoff. Only a correction that took hold counts: the
	// object matched Git again before it drifted anew.
	FightCorrections int
	FightWindow      time.Duration
	FightBackoff     time.Duration
	MaxFightBackoff  time.Duration
	// Workers check suspected drift concurrently.
	Workers int
	// RetryWatch is the first wait before trying again to watch a kind
	// that could not be watched (discovery failed); it doubles up to 5
	// minutes.
	RetryWatch time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// OnReport, when set, is called with every new or changed report
	// (for benchmarks and tests), with no lock held.
	OnReport func(installation string, r Report)
}

// DefaultOptions call it a fight after 3 corrections in 10 minutes and hold
// the object for 5 minutes, then 10, up to an hour.
func DefaultOptions() Options {
	return Options{
		FightCorrections: 3, FightWindow: 10 * time.Minute, FightBackoff: 5 * time.Minute, MaxFightBackoff: time.Hour,
		Workers: 2, RetryWatch: 10 * time.Second, Now: time.Now,
	}
}

// Validate reports options the detector cannot work with.
func (o Options) Validate() error {
	var errs []error
	if o.FightCorrections < 1 {
		errs = append(errs, errors.New("drift options: FightCorrections must be at least 1"))
	}
	if o.FightWindow <= 0 || o.FightBackoff <= 0 || o.RetryWatch <= 0 {
		errs = append(errs, errors.New("drift options: FightWindow, FightBackoff and RetryWatch must be positive"))
	}
	if o.MaxFightBackoff < o.FightBackoff {
		errs = append(errs, errors.New("drift options: MaxFightBackoff must be at least FightBackoff"))
	}
	if o.Workers < 1 {
		errs = append(errs, errors.New("drift options: Workers must be at least 1"))
	}
	if o.Now == nil {
		errs = append(errs, errors.New("drift options: Now is required"))
	}
	return errors.Join(errs...)
}

// Detector watches managed objects for drift.
type Detector struct {
	meta     metadata.Interface
	mapper   Mapper
	checker  Checker
	recorder Recorder
	metrics  *Metrics
	log      *slog.Logger
	opts     Options
	queue    workqueue.TypedDelayingInterface[suspect]

	mu            sync.Mutex
	installations map[string]*state
	watches       map[schema.GroupVersionResource]*watch
	ctx           context.Context // set by Run; watches start with it
	corrector     Corrector       // set by Run

	// ignore holds each installation's ignore rules, for the watches to
	// hash what gitopsd manages as apply does. It has a lock of its own:
	// the watches read it while the informer holds its queue's lock, which
	// code under mu waits for.
	ignoreMu sync.Mutex
	ignore   map[string][]apply.IgnoreRule
}

// state is what the detector knows of one installation.
type state struct {
	applied Applied // without Request.Objects, which objects holds
	// objects are the objects Git says the installation has, packed:
	// only those a check compares are decoded. Nil when they could not be
	// packed, with the reason in packErr.
	objects    *render.PackedSet
	packErr    error
	kinds      map[schema.GroupVersionResource]schema.GroupKind // the resources it owns objects of
	unwatched  map[schema.GroupKind]error                       // kinds it owns that are not watched, and why
	retry      time.Duration                                    // the wait before watching them again
	expected   map[render.Key]string                            // fields hash last applied
	reports    map[render.Key]Report
	history    map[render.Key]*fightHistory
	seen       map[render.Key]time.Time // when a watch first reported a suspect
	correcting map[render.Key]bool      // corrections asked for and not yet seen to take hold
	events     uint64                   // watch events of its objects so far
	// paused is set while the installation is being applied: its own
	// writes and prunes are not drift, and Track rechecks everything after.
	paused bool
}

type fightHistory struct {
	corrections []time.Time
	heldUntil   time.Time
	reason      string // why it is held, while it is
	backoff     time.Duration
}

// suspect is an object whose live state may differ from Git. A suspect
// without a key asks to watch the installation's unwatched kinds again.
type suspect struct {
	installation string
	key          render.Key
}

// NewDetector returns a detector; Run starts it.
func NewDetector(deps Deps, opts Options) (*Detector, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if deps.Metadata == nil || deps.Mapper == nil || deps.Checker == nil {
		return nil, errors.New("drift: Metadata, Mapper and Checker are required")
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Detector{
		meta: deps.Metadata, mapper: deps.Mapper, checker: deps.Checker, recorder: deps.Recorder,
		metrics: deps.Metrics, log: deps.Log, opts: opts,
		queue:         workqueue.NewTypedDelayingQueue[suspect](),
		installations: map[string]*state{},
		watches:       map[schema.GroupVersionResource]*watch{},
		ignore:        map[string][]apply.IgnoreRule{},
	}, nil
}

// Run checks suspects until ctx ends, then stops every watch. Drift of an
// installation that corrects it is corrected through c; with c nil every
// drift is only reported.
func (d *Detector) Run(ctx context.Context, c Corrector) error {
	d.mu.Lock()
	if d.ctx != nil {
		d.mu.Unlock()
		return errors.New("drift: Run called twice")
	}
	d.ctx, d.corrector = ctx, c
	for _, w := range d.watches {
		w.start(ctx)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() {
			for d.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	d.queue.ShutDown()
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for gvr, w := range d.watches {
		w.stop()
		delete(d.watches, gvr)
	}
	return nil
}

// setIgnore records an installation's ignore rules; nil forgets them.
func (d *Detector) setIgnore(installation string, rules []apply.IgnoreRule) {
	d.ignoreMu.Lock()
	defer d.ignoreMu.Unlock()
	if rules == nil {
		delete(d.ignore, installation)
	} else {
		d.ignore[installation] = rules
	}
}

func (d *Detector) ignoreRules(installation string) []apply.IgnoreRule {
	d.ignoreMu.Lock()
	defer d.ignoreMu.Unlock()
	return d.ignore[installation]
}
