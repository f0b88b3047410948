package testenv

import (
	"net/http"
	"sync"

	"k8s.io/client-go/rest"
)

// Requests counts the API requests made through a config from CountRequests.
type Requests struct {
	mu     sync.Mutex
	reads  int
	writes int
	log    []string
}

// CountRequests returns a copy of cfg whose requests are counted.
func CountRequests(cfg *rest.Config) (*rest.Config, *Requests) {
	r := &Requests{}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			r.count(req)
			return rt.RoundTrip(req)
		})
	})
	return cfg, r
}

func (r *Requests) count(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		r.reads++
	default:
		r.writes++
	}
	r.log = append(r.log, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
}

// Reset sets the counts to zero.
func (r *Requests) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads, r.writes, r.log = 0, 0, nil
}

// Counts returns the reads and writes since the last Reset.
func (r *Requests) Counts() (reads, writes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads, r.writes
}

// Log lists the requests since the last Reset as "METHOD path?query".
func (r *Requests) Log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
