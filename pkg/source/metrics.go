package source

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of this package. Build them once
// with NewMetrics, register them with Register, and share them among
// Pollers: series are labelled by repository URL (without
// credentials) and ref. A nil *Metrics records nothing.
type Metrics struct {
	lsRemote      *prometheus.CounterVec
	fetchDuration *prometheus.HistogramVec
	errors        *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
}

// NewMetrics builds the collectors; nothing is registered yet.
func NewMetrics() *Metrics {
	return &Metrics{
		lsRemote: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_source_ls_remote_total",
			Help: "Remote ref listings (one round trip each), by outcome: unchanged, changed or error.",
		}, []string{"url", "ref", "result"}),
		fetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gitopsd_source_fetch_duration_seconds",
			Help:    "Duration of shallow fetches of a new commit.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12), // 50ms .. ~100s
		}, []string{"url", "ref"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_source_fetch_errors_total",
			Help: "Failed poll rounds (listing or fetching), by reason: ref_not_found, repository_not_found, auth_failed, host_key, unreachable, timeout, unsupported, config, cache, other.",
		}, []string{"url", "ref", "reason"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitopsd_source_last_success_timestamp_seconds",
			Help: "Unix time of the last successful poll.",
		}, []string{"url", "ref"}),
	}
}

// Collectors lists the collectors, for callers that register them their own way.
func (m *Metrics) Collectors() []prometheus.Collector {
	if m == nil {
		return nil
	}
	return []prometheus.Collector{m.lsRemote, m.fetchDuration, m.errors, m.lastSuccess}
}

// Register registers every collector, reporting all failures.
func (m *Metrics) Register(r prometheus.Registerer) error {
	var errs []error
	for _, c := range m.Collectors() {
		if err := r.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reasons are the values of the reason label.
var reasons = []Reason{ReasonRefNotFound, ReasonRepositoryNotFound, ReasonAuth, ReasonHostKey,
	ReasonUnreachable, ReasonTimeout, ReasonUnsupported, ReasonConfig, ReasonCache, ReasonOther}

// start makes a poller's error series visible at 0 before the first error,
// so that alerts on their increase work from the start.
func (m *Metrics) start(url, ref string) {
	if m != nil {
		for _, r := range reasons {
			m.errors.WithLabelValues(url, ref, string(r))
		}
	}
}

func (m *Metrics) observeLsRemote(url, ref, result string) {
	if m != nil {
		m.lsRemote.WithLabelValues(url, ref, result).Inc()
	}
}

func (m *Metrics) observeFetch(url, ref string, d time.Duration) {
	if m != nil {
		m.fetchDuration.WithLabelValues(url, ref).Observe(d.Seconds())
	}
}

func (m *Metrics) observeError(url, ref string, reason Reason) {
	if m != nil {
		m.errors.WithLabelValues(url, ref, string(reason)).Inc()
	}
}

func (m *Metrics) observeSuccess(url, ref string, at time.Time) {
	if m != nil {
		m.lastSuccess.WithLabelValues(url, ref).Set(float64(at.UnixNano()) / 1e9)
	}
}
