package github

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// clientMetrics count the client's requests by answer and follow the
// primary rate limit's remaining quota.
type clientMetrics struct {
	requests  *prometheus.CounterVec
	remaining *prometheus.GaugeVec // no labels: absent until GitHub first tells
}

func newClientMetrics(reg prometheus.Registerer) (*clientMetrics, error) {
	m := &clientMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitopsd_github_requests_total",
			Help: "Requests sent to the GitHub API, by HTTP status code (\"error\" when no answer came).",
		}, []string{"code"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitopsd_github_rate_remaining",
			Help: "Requests left in GitHub's primary rate-limit window, as of the last answer.",
		}, nil),
	}
	if reg == nil {
		return m, nil
	}
	return m, errors.Join(reg.Register(m.requests), reg.Register(m.remaining))
}

func (m *clientMetrics) observe(resp *http.Response, err error) {
	if err != nil || resp == nil {
		m.requests.WithLabelValues("error").Inc()
		return
	}
	m.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
	if v, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); err == nil {
		m.remaining.WithLabelValues().Set(float64(v))
	}
}

// webhookMetrics count webhook deliveries by event and outcome.
type webhookMetrics struct {
	requests *prometheus.CounterVec
}

func newWebhookMetrics(reg prometheus.Registerer) (*webhookMetrics, error) {
	m := &webhookMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitopsd_webhook_requests_total",
		Help: "GitHub webhook requests, by event (push, pull_request, ping, other) and result " +
			"(triggered, planned, forgotten, ignored, pong, unauthorized, too_large, timeout, busy, bad_request, method_not_allowed; " +
			"on a standby forwarded, not_leader, no_leader).",
	}, []string{"event", "result"})}
	if reg == nil {
		return m, nil
	}
	return m, reg.Register(m.requests)
}

func (m *webhookMetrics) observe(event, result string) {
	m.requests.WithLabelValues(event, result).Inc()
}
