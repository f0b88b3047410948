package drift

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
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
	meta     metadata.Interface
	mapper   Mapper
	checker  Checker
	correct  func(installation string)
	recorder Recorder
	metrics  *Metrics
	log      *slog.Logger
	opts     Options
	queue    workqueue.TypedInterface[suspect]

	mu            sync.Mutex
	installations map[string]*state
	watches       map[schema.GroupVersionResource]*watch
	ctx           context.Context // set by Run; watches start with it
}

// state is what the detector knows of one installation.
type state struct {
	inst       Installation
	expected   map[render.Key]string // fields hash last applied
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

// NewDetector returns a detector; correct is called to reconcile an
// installation whose drift is to be corrected.
func NewDetector(meta metadata.Interface, mapper Mapper, checker Checker, correct func(string), recorder Recorder, metrics *Metrics, log *slog.Logger, opts Options) *Detector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Detector{
		meta: meta, mapper: mapper, checker: checker, correct: correct, recorder: recorder, metrics: metrics, log: log, opts: opts,
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

// Track sets what an installation's objects are compared with, after each
// apply, and watches the kinds it owns.
func (d *Detector) Track(inst Installation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[inst.Name]
	if st == nil {
		st = &state{reports: map[render.Key]Report{}, history: map[render.Key]*fightHistory{}, seen: map[render.Key]time.Time{}}
		d.installations[inst.Name] = st
	}
	st.inst = inst
	st.paused = false
	st.correcting = map[render.Key]bool{}
	st.expected = make(map[render.Key]string, len(inst.Owned))
	for _, e := range inst.Owned {
		st.expected[e.Key()] = e.Fields
	}
	for key := range st.reports {
		if _, owned := st.expected[key]; !owned {
			delete(st.reports, key)
		}
	}
	d.metrics.drifted.WithLabelValues(inst.Name).Set(float64(len(st.reports)))
	d.syncWatches()
	d.recheck(inst.Name, st)
}

// Pause stops checking an installation while it is applied; Track, or
// Resume when the apply failed, starts again.
func (d *Detector) Pause(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.installations[name]; st != nil {
		st.paused = true
	}
}

// Resume checks an installation again after an apply that did not Track.
func (d *Detector) Resume(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.installations[name]; st != nil && st.paused {
		st.paused = false
		d.recheck(name, st)
	}
}

// recheck compares what the watches hold with the expectations. d.mu is held.
func (d *Detector) recheck(name string, st *state) {
	for _, w := range d.watches {
		for _, key := range w.mismatches(name, st.expected) {
			d.queue.Add(suspect{installation: name, key: key})
		}
	}
}

// Forget stops watching an installation.
func (d *Detector) Forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.installations, name)
	d.metrics.forget(name)
	d.syncWatches()
}

// syncWatches starts a watch for every kind some installation owns and
// stops those no longer needed. d.mu is held.
func (d *Detector) syncWatches() {
	needed := map[schema.GroupVersionResource]schema.GroupKind{}
	for _, st := range d.installations {
		for _, e := range st.inst.Owned {
			gvk := schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
			gvr, err := d.mapper.Resource(gvk)
			if err != nil {
				continue // not served: nothing to watch
			}
			needed[gvr] = gvk.GroupKind()
		}
	}
	for gvr, gk := range needed {
		if _, ok := d.watches[gvr]; !ok {
			w := newWatch(d, gvr, gk)
			d.watches[gvr] = w
			if d.ctx != nil {
				w.start(d.ctx)
			}
		}
	}
	for gvr, w := range d.watches {
		if _, ok := needed[gvr]; !ok {
			w.stop()
			delete(d.watches, gvr)
		}
	}
}

// observe is called by the watches for each object event.
func (d *Detector) observe(installation string, key render.Key, fields string, gone bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[installation]
	if st == nil {
		return
	}
	expected, owned := st.expected[key]
	if !owned {
		return
	}
	if !gone && fields == expected {
		d.resolve(st, key)
		return
	}
	if _, ok := st.seen[key]; !ok {
		st.seen[key] = d.opts.Now()
	}
	d.queue.Add(suspect{installation: installation, key: key})
}

// next checks one suspect; false when the queue is shut down.
func (d *Detector) next(ctx context.Context) bool {
	s, shutdown := d.queue.Get()
	if shutdown {
		return false
	}
	defer d.queue.Done(s)
	d.mu.Lock()
	st := d.installations[s.installation]
	var inst Installation
	checkable := st != nil && !st.paused
	if checkable {
		_, checkable = st.expected[s.key]
		inst = st.inst
	}
	d.mu.Unlock()
	if !checkable {
		return true // paused (rechecked after the apply), forgotten, or no longer owned
	}
	drifts, err := d.checker.CheckDrift(ctx, inst.Request, inst.Options, []render.Key{s.key})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("cannot check drift", keyInstallation, s.installation, keyObject, s.key.String(), keyError, err)
		}
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if st != d.installations[s.installation] || st.paused || st.inst.Request.Objects != inst.Request.Objects {
		return true // forgotten, or applied meanwhile: rechecked after the apply
	}
	if len(drifts) == 0 {
		d.resolve(st, s.key)
		return true
	}
	d.handle(st, drifts[0])
	return true
}

// resolve clears a report once the object matches Git again. d.mu is held.
func (d *Detector) resolve(st *state, key render.Key) {
	delete(st.seen, key)
	if _, ok := st.reports[key]; ok {
		delete(st.reports, key)
		d.metrics.drifted.WithLabelValues(st.inst.Name).Set(float64(len(st.reports)))
	}
}

// handle reports a confirmed drift and acts on it by policy. d.mu is held.
func (d *Detector) handle(st *state, drift apply.Drift) {
	now := d.opts.Now()
	name := st.inst.Name
	prev, known := st.reports[drift.Key]
	rep := Report{Key: drift.Key, Deleted: drift.Deleted, Fields: drift.Fields, Managers: drift.Managers, DetectedAt: now}
	if st.correcting[drift.Key] || (known && prev.Action != Corrected && sameDrift(prev, rep)) {
		return // already acted on
	}
	d.metrics.detections.WithLabelValues(name).Inc()
	if seen, ok := st.seen[drift.Key]; ok {
		d.metrics.latency.Observe(now.Sub(seen).Seconds())
		delete(st.seen, drift.Key)
	}
	switch {
	case !st.inst.Correct:
		rep.Action = Reported
	default:
		rep.Action, rep.Message = d.correction(st, drift, now)
	}
	st.reports[drift.Key] = rep
	d.metrics.drifted.WithLabelValues(name).Set(float64(len(st.reports)))
	msg := describe(rep)
	d.log.Warn("drift", keyInstallation, name, keyObject, drift.Key.String(), "fields", strings.Join(drift.Fields, ","), "managers", strings.Join(drift.Managers, ","), "action", rep.Action)
	if d.recorder != nil {
		ref := corev1.ObjectReference{APIVersion: drift.APIVersion, Kind: drift.Key.Kind, Namespace: drift.Key.Namespace, Name: drift.Key.Name, UID: drift.UID}
		d.recorder.ObjectEvent(ref, corev1.EventTypeWarning, "Drift", msg)
	}
	if d.opts.OnReport != nil {
		d.opts.OnReport(name, rep)
	}
	if rep.Action == Corrected {
		st.correcting[drift.Key] = true
		d.metrics.corrections.WithLabelValues(name).Inc()
		go d.correct(name)
	}
}

// correction decides whether to correct a drift or hold it as a fight.
func (d *Detector) correction(st *state, drift apply.Drift, now time.Time) (Action, string) {
	h := st.history[drift.Key]
	if h == nil {
		h = &fightHistory{backoff: d.opts.FightBackoff}
		st.history[drift.Key] = h
	}
	if now.Before(h.heldUntil) {
		return Held, fmt.Sprintf("not corrected until %s: fighting with %s", h.heldUntil.Format(time.RFC3339), writer(drift))
	}
	recent := h.corrections[:0]
	for _, t := range h.corrections {
		if now.Sub(t) < d.opts.FightWindow {
			recent = append(recent, t)
		}
	}
	h.corrections = recent
	if len(recent) >= d.opts.FightCorrections {
		h.heldUntil = now.Add(h.backoff)
		h.backoff = min(2*h.backoff, d.opts.MaxFightBackoff)
		h.corrections = nil
		d.metrics.fights.WithLabelValues(st.inst.Name).Inc()
		return Held, fmt.Sprintf("%s keeps changing it back (%d corrections in %s); not corrected until %s",
			writer(drift), len(recent), d.opts.FightWindow, h.heldUntil.Format(time.RFC3339))
	}
	h.corrections = append(h.corrections, now)
	return Corrected, ""
}

// Holds lists an installation's objects whose drift must not be corrected
// now, with the reason; the reconciler passes them to apply.
func (d *Detector) Holds(name string) map[render.Key]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[name]
	if st == nil {
		return nil
	}
	now := d.opts.Now()
	holds := map[render.Key]string{}
	for key, h := range st.history {
		if now.Before(h.heldUntil) {
			holds[key] = "drift held: fighting with another writer until " + h.heldUntil.Format(time.RFC3339)
		}
	}
	return holds
}

// Reports lists an installation's drifted objects, sorted.
func (d *Detector) Reports(name string) []Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[name]
	if st == nil {
		return nil
	}
	out := make([]Report, 0, len(st.reports))
	for _, r := range st.reports {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

func sameDrift(a, b Report) bool {
	return a.Deleted == b.Deleted && strings.Join(a.Fields, ",") == strings.Join(b.Fields, ",")
}

func writer(drift apply.Drift) string {
	if len(drift.Managers) == 0 {
		return "another writer"
	}
	return drift.Managers[0]
}

func describe(r Report) string {
	what := "fields " + strings.Join(r.Fields, ", ") + " changed"
	if r.Deleted {
		what = "deleted"
		if len(r.Fields) > 0 {
			what = "taken out of gitopsd's hands (" + strings.Join(r.Fields, ", ") + " removed)"
		}
	}
	if len(r.Managers) > 0 {
		what += " by " + strings.Join(r.Managers, ", ")
	}
	msg := what + "; " + string(r.Action)
	if r.Message != "" {
		msg += ": " + r.Message
	}
	return msg
}

// Log keys.
const (
	keyInstallation = "installation"
	keyObject       = "object"
	keyError        = "error"
)
