package drift

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
	corev1 "k8s.io/api/core/v1"
)

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
	switch ok, why := d.correctable(st); {
	case !st.inst.Correct:
		rep.Action = Reported
	case !ok:
		rep.Action, rep.Message = Held, why
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
		go d.corrector.Trigger(name)
	}
}

// correctable asks the corrector whether an installation that corrects
// drift may do so now.
func (d *Detector) correctable(st *state) (bool, string) {
	if !st.inst.Correct {
		return false, ""
	}
	return d.corrector.Correctable(st.inst.Name)
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
