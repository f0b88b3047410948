package drift

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Track sets what an installation's objects are compared with, after each
// apply, and watches the kinds it owns. The request's objects are kept
// packed; a check decodes only the object it compares.
func (d *Detector) Track(a Applied) {
	kinds, unwatched := d.resources(a.Owned) // discovery, outside the lock
	d.setIgnore(a.name(), a.Options.Ignore)
	objects, packErr := pack(a.Request.Objects)
	a.Request.Objects = nil
	d.mu.Lock()
	defer d.mu.Unlock()
	name := a.name()
	st := d.installations[name]
	if st == nil {
		st = &state{
			reports: map[render.Key]Report{}, history: map[render.Key]*fightHistory{},
			seen: map[render.Key]time.Time{}, correcting: map[render.Key]bool{},
		}
		d.installations[name] = st
	}
	st.applied, st.kinds, st.paused = a, kinds, false
	st.objects, st.packErr = objects, packErr
	st.expected = make(map[render.Key]string, len(a.Owned))
	for _, e := range a.Owned {
		if e.Fields != "" { // never applied: nothing to compare with
			st.expected[e.Key()] = e.Fields
		}
	}
	for key := range st.reports {
		if _, owned := st.expected[key]; !owned {
			delete(st.reports, key)
		}
	}
	for key := range st.seen {
		if _, owned := st.expected[key]; !owned {
			delete(st.seen, key) // pruned: not drift
		}
	}
	for key := range st.correcting {
		if _, owned := st.expected[key]; !owned || !a.correct() {
			delete(st.correcting, key)
		}
	}
	d.metrics.drifted.WithLabelValues(name).Set(float64(len(st.reports)))
	d.metrics.track(name)
	d.setUnwatched(name, st, unwatched)
	d.syncWatches()
	d.recheck(name, st)
}

// pack keeps the objects of an apply compact. The renderer's sets pack at
// no cost; sets built otherwise (colours, tests) are encoded once.
func pack(set *render.ObjectSet) (*render.PackedSet, error) {
	if set == nil {
		return nil, errors.New("the apply request has no objects")
	}
	return set.Pack()
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

// recheckKind rechecks the installations, not being applied, that own
// objects of the resource gvr.
func (d *Detector) recheckKind(gvr schema.GroupVersionResource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, st := range d.installations {
		if _, owns := st.kinds[gvr]; owns && !st.paused {
			d.recheck(name, st)
		}
	}
}

// recheck compares what the watches hold with the expectations: objects
// that match Git are settled, the others are checked. d.mu is held.
func (d *Detector) recheck(name string, st *state) {
	for gvr := range st.kinds {
		w := d.watches[gvr]
		if w == nil {
			continue
		}
		matching, suspects := w.compare(name, st.expected)
		for _, key := range matching {
			d.resolve(st, key)
		}
		for _, key := range suspects {
			d.queue.Add(suspect{installation: name, key: key})
		}
	}
}

// Forget stops watching an installation.
func (d *Detector) Forget(name string) {
	d.setIgnore(name, nil)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.installations, name)
	d.metrics.forget(name)
	d.syncWatches()
}

// resources maps the kinds of owned objects to the resources to watch, and
// says why the others cannot be watched (a kind the cluster does not serve
// now, or discovery failing).
func (d *Detector) resources(owned []inventory.Entry) (map[schema.GroupVersionResource]schema.GroupKind, map[schema.GroupKind]error) {
	seen := map[schema.GroupVersionKind]bool{}
	out := map[schema.GroupVersionResource]schema.GroupKind{}
	var failed map[schema.GroupKind]error
	for _, e := range owned {
		gvk := schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
		if seen[gvk] {
			continue
		}
		seen[gvk] = true
		gvr, err := d.mapper.Resource(gvk)
		if err != nil {
			if failed == nil {
				failed = map[schema.GroupKind]error{}
			}
			failed[gvk.GroupKind()] = err
			continue
		}
		out[gvr] = gvk.GroupKind()
	}
	return out, failed
}

// setUnwatched records the kinds of an installation that are not watched
// and asks for another try later. d.mu is held.
func (d *Detector) setUnwatched(name string, st *state, unwatched map[schema.GroupKind]error) {
	st.unwatched = unwatched
	if len(unwatched) == 0 {
		st.retry = 0
		return
	}
	for gk, err := range unwatched {
		d.log.Error("drift of a kind is not watched; retrying", logkey.Installation, name, logkey.Kind, gk.String(), logkey.Error, err)
	}
	st.retry = min(max(2*st.retry, d.opts.RetryWatch), maxRetryWatch)
	d.queue.AddAfter(suspect{installation: name}, st.retry)
}

// maxRetryWatch caps the wait between tries to watch a kind.
const maxRetryWatch = 5 * time.Minute

// rewatch tries again to watch the kinds of an installation that are not
// watched.
func (d *Detector) rewatch(name string) {
	d.mu.Lock()
	st := d.installations[name]
	if st == nil || len(st.unwatched) == 0 {
		d.mu.Unlock()
		return
	}
	owned, objects := st.applied.Owned, st.objects
	d.mu.Unlock()
	kinds, unwatched := d.resources(owned)
	d.mu.Lock()
	defer d.mu.Unlock()
	if st != d.installations[name] || st.objects != objects {
		return // forgotten, or tracked anew meanwhile
	}
	st.kinds = kinds
	d.setUnwatched(name, st, unwatched)
	d.syncWatches()
	d.recheck(name, st)
}

// syncWatches starts a watch for every kind some installation owns and
// stops those no longer needed. d.mu is held.
func (d *Detector) syncWatches() {
	needed := map[schema.GroupVersionResource]schema.GroupKind{}
	for _, st := range d.installations {
		for gvr, gk := range st.kinds {
			needed[gvr] = gk
		}
	}
	for gvr, gk := range needed {
		if _, ok := d.watches[gvr]; ok {
			continue
		}
		w, err := newWatch(d, gvr, gk)
		if err != nil {
			d.cannotWatch(gvr, gk, err)
			continue
		}
		d.watches[gvr] = w
		if d.ctx != nil {
			w.start(d.ctx)
		}
	}
	for gvr, w := range d.watches {
		if _, ok := needed[gvr]; !ok {
			w.stop()
			delete(d.watches, gvr)
		}
	}
}

// cannotWatch marks a resource whose watch could not be set up as
// unwatched in every installation that owns objects of it. d.mu is held.
func (d *Detector) cannotWatch(gvr schema.GroupVersionResource, gk schema.GroupKind, err error) {
	for name, st := range d.installations {
		if _, ok := st.kinds[gvr]; !ok {
			continue
		}
		delete(st.kinds, gvr)
		unwatched := map[schema.GroupKind]error{gk: fmt.Errorf("watch %s: %w", gvr.GroupResource(), err)}
		for k, e := range st.unwatched {
			unwatched[k] = e
		}
		d.setUnwatched(name, st, unwatched)
	}
}

// Problems lists what keeps the detector from seeing an installation's
// drift now: kinds it does not watch and watches that are failing, each
// with its cause.
func (d *Detector) Problems(name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[name]
	if st == nil {
		return nil
	}
	var out []string
	for gk, err := range st.unwatched {
		out = append(out, fmt.Sprintf("%s not watched for drift: %v", gk, err))
	}
	for gvr := range st.kinds {
		if w := d.watches[gvr]; w != nil {
			if err, since := w.failure(); err != nil {
				out = append(out, fmt.Sprintf("watch of %s failing since %s: %v", gvr.GroupResource(), since.UTC().Format(time.RFC3339), err))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Watched returns how many watch events of an installation's objects the
// detector has seen, and whether every kind it owns is watched, with the
// initial list done and the watch not failing. While the count stays the
// same, nothing has changed any of its objects, status included.
func (d *Detector) Watched(name string) (events uint64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[name]
	if st == nil || d.ctx == nil || len(st.unwatched) > 0 {
		return 0, false
	}
	for gvr := range st.kinds {
		w := d.watches[gvr]
		if w == nil || !w.informer.HasSynced() {
			return 0, false
		}
		if err, _ := w.failure(); err != nil {
			return 0, false
		}
	}
	return st.events, true
}
