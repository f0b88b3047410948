package plancheck

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the checker's Prometheus collectors.
type Metrics struct {
	checks   *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewMetrics builds the collectors; register them with Register.
func NewMetrics() *Metrics {
	return &Metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_plan_checks_total",
			Help: "Plan checks of pull requests finished, by state (success, failure, error, skipped, superseded, unposted).",
		}, []string{"state"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gitopsd_plan_check_duration_seconds",
			Help:    "Time from a plan check's request (webhook or poll) to its final commit status.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
	}
}

// Register registers the collectors with r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	return errors.Join(r.Register(m.checks), r.Register(m.duration))
}
