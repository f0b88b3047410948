package reconcile

import (
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reconciler's Prometheus collectors.
type Metrics struct {
	duration    *prometheus.HistogramVec
	objects     *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	phase       *prometheus.GaugeVec
}

// NewMetrics builds the collectors; register them with Register.
func NewMetrics() *Metrics {
	return &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gitopsd_reconcile_duration_seconds",
			Help:    "Time to render, apply, prune and wait for health, by installation and result (success, failure).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
		}, []string{"installation", "result"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitopsd_reconcile_objects",
			Help: "Objects of the last reconcile of an installation, by action (created, configured, unchanged, deleted, skipped, failed).",
		}, []string{"installation", "action"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitopsd_last_successful_apply_timestamp_seconds",
			Help: "Unix time of the last reconcile of an installation that applied every object and found them healthy.",
		}, []string{"installation"}),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitopsd_installation_phase",
			Help: "1 for the phase an installation is in (Progressing, Ready, Failed, Held), 0 for the others.",
		}, []string{"installation", "phase"}),
	}
}

// Register registers the collectors with r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.duration, m.objects, m.lastSuccess, m.phase} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) setPhase(installation string, phase Phase) {
	for _, p := range []Phase{Progressing, Ready, Failed, Held} {
		v := 0.0
		if p == phase {
			v = 1
		}
		m.phase.WithLabelValues(installation, string(p)).Set(v)
	}
}

func (m *Metrics) observeChanges(installation string, cs *apply.ChangeSet) {
	counts := cs.Counts()
	for _, a := range apply.Actions {
		m.objects.WithLabelValues(installation, string(a)).Set(float64(counts[a]))
	}
}

// forget drops the series of a removed installation.
func (m *Metrics) forget(installation string) {
	labels := prometheus.Labels{"installation": installation}
	m.duration.DeletePartialMatch(labels)
	m.objects.DeletePartialMatch(labels)
	m.lastSuccess.DeletePartialMatch(labels)
	m.phase.DeletePartialMatch(labels)
}
