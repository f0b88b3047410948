package drift

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the detector's Prometheus collectors.
type Metrics struct {
	drifted     *prometheus.GaugeVec
	detections  *prometheus.CounterVec
	corrections *prometheus.CounterVec
	fights      *prometheus.CounterVec
	latency     prometheus.Histogram
}

// NewMetrics builds the collectors; register them with Register.
func NewMetrics() *Metrics {
	return &Metrics{
		drifted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitopsd_drift_objects", Help: "Managed objects that differ from Git now, by installation.",
		}, []string{"installation"}),
		detections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_drift_detections_total", Help: "Drift confirmed by server-side dry run, by installation.",
		}, []string{"installation"}),
		corrections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_drift_corrections_total", Help: "Reconciles asked for to correct drift, by installation.",
		}, []string{"installation"}),
		fights: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_drift_fights_total", Help: "Objects held because another writer kept changing them back, by installation.",
		}, []string{"installation"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gitopsd_drift_detection_latency_seconds",
			Help:    "Time from the watch event of an out-of-band change to the confirmed drift report.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
}

// Register registers the collectors with r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.drifted, m.detections, m.corrections, m.fights, m.latency} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// track makes an installation's counters visible at 0 before they first
// count, so that alerts on their increase work from the start.
func (m *Metrics) track(installation string) {
	m.detections.WithLabelValues(installation)
	m.corrections.WithLabelValues(installation)
	m.fights.WithLabelValues(installation)
}

func (m *Metrics) forget(installation string) {
	labels := prometheus.Labels{"installation": installation}
	m.drifted.DeletePartialMatch(labels)
	m.detections.DeletePartialMatch(labels)
	m.corrections.DeletePartialMatch(labels)
	m.fights.DeletePartialMatch(labels)
}
