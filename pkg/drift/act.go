package drift

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	corev1 "k8s.io/api/core/v1"
)

// verdict is what the detector decided about a confirmed drift; act carries
// it out once d.mu is released.
type verdict struct {
	installation string
	drift        apply.Drift
	report       Report
	// reconcile asks the corrector for a reconcile: to correct the drift,
	// or, for an object deleted and left so, to say so in the phase.
	reconcile bool
}

// decide reports a confirmed drift and decides, by policy, what to do about
// it. allowed and why are the corrector's answer. The zero verdict means
// nothing new: the drift was acted on already. d.mu is held.
func (d *Detector) decide(st *state, drift apply.Drift, allowed bool, why string) verdict {
	now := d.opts.Now()
	name := st.applied.name()
	if st.correcting[drift.Key] {
		// A correction was asked for and has not taken hold: it is under
		// way, or failed and the reconciler retries it with its backoff.
		return verdict{}
	}
	rep := Report{Key: drift.Key, Deleted: drift.Deleted, Fields: drift.Fields, Managers: drift.Managers, DetectedAt: now}
	switch {
	case !st.applied.correct():
		rep.Action = Reported
	case !allowed:
		rep.Action, rep.Message = Held, why
	default:
		rep.Action, rep.Message = d.correction(st, drift, now)
	}
	prev, known := st.reports[drift.Key]
	if known && sameDrift(prev, rep) && prev.Action == rep.Action && prev.Message == rep.Message {
		return verdict{}
	}
	d.metrics.detections.WithLabelValues(name).Inc()
	if seen, ok := st.seen[drift.Key]; ok {
		d.metrics.latency.Observe(now.Sub(seen).Seconds())
		delete(st.seen, drift.Key)
	}
	st.reports[drift.Key] = rep
	d.metrics.drifted.WithLabelValues(name).Set(float64(len(st.reports)))
	if rep.Action == Corrected {
		st.correcting[drift.Key] = true
		d.metrics.corrections.WithLabelValues(name).Inc()
	}
	settles := rep.Deleted || (known && prev.Deleted) // missing, or back
	return verdict{installation: name, drift: drift, report: rep, reconcile: rep.Action == Corrected || settles}
}

// act logs a verdict, records it as an Event on the object, and asks for
// the correction. No lock is held.
func (d *Detector) act(v verdict, corrector Corrector) {
	if v.installation == "" {
		return
	}
	rep, drift := v.report, v.drift
	d.log.Warn("drift", logkey.Installation, v.installation, logkey.Object, drift.Key.String(), logkey.Fields, strings.Join(drift.Fields, ","), logkey.Managers, strings.Join(drift.Managers, ","), logkey.Action, rep.Action)
	if d.recorder != nil {
		ref := corev1.ObjectReference{APIVersion: drift.APIVersion, Kind: drift.Key.Kind, Namespace: drift.Key.Namespace, Name: drift.Key.Name, UID: drift.UID}
		d.recorder.ObjectEvent(ref, corev1.EventTypeWarning, "Drift", describe(rep))
	}
	if d.opts.OnReport != nil {
		d.opts.OnReport(v.installation, rep)
	}
	if v.reconcile && corrector != nil {
		go corrector.Trigger(v.installation)
	}
}

// correction decides whether to correct a drift or hold it as a fight:
// FightCorrections corrections that each took hold within FightWindow. A
// hold is checked again when it ends. d.mu is held.
func (d *Detector) correction(st *state, drift apply.Drift, now time.Time) (Action, string) {
	h := st.history[drift.Key]
	if h == nil {
		h = &fightHistory{backoff: d.opts.FightBackoff}
		st.history[drift.Key] = h
	}
	if now.Before(h.heldUntil) {
		return Held, h.reason
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
		h.reason = fmt.Sprintf("%s keeps changing it back (%d corrections in %s); not corrected until %s",
			writer(drift), len(recent), d.opts.FightWindow, h.heldUntil.Format(time.RFC3339))
		h.backoff = min(2*h.backoff, d.opts.MaxFightBackoff)
		h.corrections = nil
		d.metrics.fights.WithLabelValues(st.applied.name()).Inc()
		d.queue.AddAfter(suspect{installation: st.applied.name(), key: drift.Key}, h.heldUntil.Sub(now))
		return Held, h.reason
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
			holds[key] = "drift held: " + h.reason
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
