package drift

import (
	"context"
	"fmt"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// observe is called by the watches for each object event.
func (d *Detector) observe(installation string, key render.Key, fields string, gone bool) {
	d.mu.Lock()
	st := d.installations[installation]
	if st == nil {
		d.mu.Unlock()
		return
	}
	st.events++
	expected, owned := st.expected[key]
	switch {
	case !owned:
	case !gone && fields == expected:
		if d.resolve(st, key) {
			defer d.settle(installation, d.corrector)
		}
	default:
		if _, ok := st.seen[key]; !ok {
			st.seen[key] = d.opts.Now()
		}
		d.queue.Add(suspect{installation: installation, key: key})
	}
	d.mu.Unlock()
}

// settle asks for a reconcile of an installation whose deleted object is
// back, so that its phase says so. No lock is held.
func (d *Detector) settle(installation string, c Corrector) {
	if c != nil {
		go c.Trigger(installation)
	}
}

// next checks one suspect; false when the queue is shut down. The check
// and the corrector are called with no lock held.
func (d *Detector) next(ctx context.Context) bool {
	s, shutdown := d.queue.Get()
	if shutdown {
		return false
	}
	defer d.queue.Done(s)
	if s.key == (render.Key{}) {
		d.rewatch(s.installation)
		return true
	}
	d.mu.Lock()
	st := d.installations[s.installation]
	var (
		applied Applied
		objects *render.PackedSet
		packErr error
	)
	checkable := st != nil && !st.paused
	if checkable {
		_, checkable = st.expected[s.key]
		applied, objects, packErr = st.applied, st.objects, st.packErr
	}
	corrector := d.corrector
	d.mu.Unlock()
	if !checkable {
		return true // paused (rechecked after the apply), forgotten, or no longer owned
	}
	drifts, err := d.check(ctx, applied, objects, packErr, s.key)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("cannot check drift", logkey.Installation, s.installation, logkey.Object, s.key.String(), logkey.Error, err)
		}
		return true
	}
	allowed, why := false, "no corrector"
	if len(drifts) > 0 && applied.correct() && corrector != nil {
		allowed, why = corrector.Correctable(s.installation)
	}
	d.mu.Lock()
	if st != d.installations[s.installation] || st.paused || st.objects != objects {
		d.mu.Unlock()
		return true // forgotten, or applied meanwhile: rechecked after the apply
	}
	var v verdict
	back := false
	if len(drifts) == 0 {
		back = d.resolve(st, s.key)
	} else {
		v = d.decide(st, drifts[0], allowed, why)
	}
	d.mu.Unlock()
	if back {
		d.settle(s.installation, corrector)
	}
	d.act(v, corrector)
	return true
}

// check confirms the drift of one object, decoding from the installation's
// packed objects only those that may be it: the key's namespace may be one
// the apply defaulted.
func (d *Detector) check(ctx context.Context, applied Applied, objects *render.PackedSet, packErr error, key render.Key) ([]apply.Drift, error) {
	if objects == nil {
		return nil, fmt.Errorf("what Git says of the objects was not kept: %w", packErr)
	}
	req := applied.Request
	var err error
	req.Objects, err = objects.Select(func(k render.Key) bool {
		return k.Group == key.Group && k.Kind == key.Kind && k.Name == key.Name
	})
	if err != nil {
		return nil, err
	}
	return d.checker.CheckDrift(ctx, req, applied.Options, []render.Key{key})
}

// resolve settles an object that matches Git: its report goes, and a
// correction of it has taken hold. It reports whether the object had been
// reported deleted and left so (drift held or only reported). d.mu is held.
func (d *Detector) resolve(st *state, key render.Key) bool {
	delete(st.seen, key)
	delete(st.correcting, key)
	rep, ok := st.reports[key]
	if !ok {
		return false
	}
	delete(st.reports, key)
	d.metrics.drifted.WithLabelValues(st.applied.name()).Set(float64(len(st.reports)))
	return rep.Deleted && rep.Action != Corrected
}
