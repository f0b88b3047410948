package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Reachability follows the requests gitopsd makes to the API server, so
// that an outage shows in the status with when it began, without a
// request of its own: a request that gets no answer (or a gateway's 502,
// 503 or 504) starts an outage, any other answer ends it. The informers
// retry while the server is away, so its return is seen within their
// backoff.
type Reachability struct {
	now func() time.Time

	mu    sync.Mutex
	err   error
	since time.Time
}

// NewReachability returns a Reachability reading the time from now.
func NewReachability(now func() time.Time) *Reachability {
	if now == nil {
		now = time.Now
	}
	return &Reachability{now: now}
}

// Wrap follows the requests of rt; use it with rest.Config.Wrap.
func (r *Reachability) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		res, err := rt.RoundTrip(req)
		switch {
		case err != nil && req.Context().Err() == nil && !errors.Is(err, context.Canceled):
			r.failed(fmt.Errorf("%s %s: %w", req.Method, req.URL.Host, err))
		case err == nil && (res.StatusCode == http.StatusBadGateway || res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusGatewayTimeout):
			r.failed(fmt.Errorf("%s %s: %s", req.Method, req.URL.Host, res.Status))
		case err == nil:
			r.answered()
		}
		return res, err
	})
}

func (r *Reachability) failed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.since = r.now()
	}
	r.err = err
}

func (r *Reachability) answered() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = nil
}

// Status is the outage under way, or nil when the API server answers.
func (r *Reachability) Status() *ClusterStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		return nil
	}
	since := r.since
	return &ClusterStatus{Error: "the API server does not answer: " + r.err.Error(), Since: &since}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
