package drift

import (
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Track sets what an installation's objects are compared with, after each
// apply, and watches the kinds it owns.
func (d *Detector) Track(inst Installation) {
	kinds := d.resources(inst.Owned) // discovery, outside the lock
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.installations[inst.Name]
	if st == nil {
		st = &state{reports: map[render.Key]Report{}, history: map[render.Key]*fightHistory{}, seen: map[render.Key]time.Time{}}
		d.installations[inst.Name] = st
	}
	st.inst, st.kinds = inst, kinds
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

// resources maps the kinds of owned objects to the resources to watch;
// kinds the cluster does not serve have nothing to watch.
func (d *Detector) resources(owned []inventory.Entry) map[schema.GroupVersionResource]schema.GroupKind {
	seen := map[schema.GroupVersionKind]bool{}
	out := map[schema.GroupVersionResource]schema.GroupKind{}
	for _, e := range owned {
		gvk := schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
		if seen[gvk] {
			continue
		}
		seen[gvk] = true
		if gvr, err := d.mapper.Resource(gvk); err == nil {
			out[gvr] = gvk.GroupKind()
		}
	}
	return out
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
