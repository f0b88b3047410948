package drift

import (
	"context"

	"github.com/gitopsd/gitopsd/pkg/render"
)

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
