package drift

import (
	"context"
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
// reconciler implements it.
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

// Installation is what the detector compares an installation's objects
// with: the request and options of its last apply, and what it owns.
type Installation struct {
	Name    string
	Request apply.Request
	Options apply.Options
	Owned   []inventory.Entry
	// Correct asks for drift to be corrected; otherwise it is reported.
	Correct bool
}

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

// Options tune the detector.
type Options struct {
	// FightCorrections corrections of one object within FightWindow make
	// a fight: the object is held for FightBackoff, doubling per fight up
	// to MaxFightBackoff.
	FightCorrections int
	FightWindow      time.Duration
	FightBackoff     time.Duration
	MaxFightBackoff  time.Duration
	// Workers check suspected drift concurrently.
	Workers int
	// Now is the clock; tests replace it.
	Now func() time.Time
	// OnReport, when set, is called with every confirmed drift (for
	// benchmarks and tests).
	OnReport func(installation string, r Report)
}

// DefaultOptions call it a fight after 3 corrections in 10 minutes and hold
// the object for 5 minutes, then 10, up to an hour.
func DefaultOptions() Options {
	return Options{FightCorrections: 3, FightWindow: 10 * time.Minute, FightBackoff: 5 * time.Minute, MaxFightBackoff: time.Hour, Workers: 2, Now: time.Now}
}

// Detector watches managed objects for drift.
type Detector struct {
	meta      metadata.Interface
	mapper    Mapper
	checker   Checker
	corrector Corrector
	recorder  Recorder
	metrics   *Metrics
	log       *slog.Logger
	opts      Options
	queue     workqueue.TypedInterface[suspect]

	mu            sync.Mutex
	installations map[string]*state
	watches       map[schema.GroupVersionResource]*watch
	ctx           context.Context // set by Run; watches start with it
}

// state is what the detector knows of one installation.
type state struct {
	inst       Installation
	kinds      map[schema.GroupVersionResource]schema.GroupKind // the resources it owns objects of
	expected   map[render.Key]string                            // fields hash last applied
	reports    map[render.Key]Report
	history    map[render.Key]*fightHistory
	seen       map[render.Key]time.Time // when a watch first reported a suspect
	correcting map[render.Key]bool      // corrections asked for since the last apply
	// paused is set while the installation is being applied: its own
	// writes and prunes are not drift, and Track rechecks everything after.
	paused bool
}

type fightHistory struct {
	corrections []time.Time
	heldUntil   time.Time
	backoff     time.Duration
}

// suspect is an object whose live state may differ from Git.
type suspect struct {
	installation string
	key          render.Key
}

// NewDetector returns a detector; corrector reconciles an installation
// whose drift is to be corrected.
func NewDetector(meta metadata.Interface, mapper Mapper, checker Checker, corrector Corrector, recorder Recorder, metrics *Metrics, log *slog.Logger, opts Options) *Detector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Detector{
		meta: meta, mapper: mapper, checker: checker, corrector: corrector, recorder: recorder, metrics: metrics, log: log, opts: opts,
		queue:         workqueue.NewTyped[suspect](),
		installations: map[string]*state{},
		watches:       map[schema.GroupVersionResource]*watch{},
	}
}

// Run checks suspects until ctx ends, then stops every watch.
func (d *Detector) Run(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	for _, w := range d.watches {
		w.start(ctx)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for range max(d.opts.Workers, 1) {
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

// Log keys.
const (
	keyInstallation = "installation"
	keyObject       = "object"
	keyError        = "error"
)
