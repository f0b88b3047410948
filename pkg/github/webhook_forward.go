package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// Leadership says whether this replica acts on deliveries and where the one
// that does listens; leader.Elector implements it.
type Leadership interface {
	Leading() bool
	// LeaderAddress is the host:port of the leading replica's HTTP server;
	// false while none is known.
	LeaderAddress() (string, bool)
}

// forwardedHeader marks a delivery a standby forwarded: its receiver acts
// on it or refuses it, never forwards it again, so that two replicas that
// disagree about who leads cannot pass a delivery back and forth.
const forwardedHeader = "X-Gitopsd-Forwarded"

// forwardRetry is the pause between two attempts to reach the leader.
const forwardRetry = 200 * time.Millisecond

// standby reports whether another replica acts on deliveries.
func (rt *Router) standby() bool {
	return rt.deps.Leadership != nil && !rt.deps.Leadership.Leading()
}

// Ready reports whether deliveries received here are acted on: at once by
// the leader (or a replica without leader election), by forwarding on a
// standby that knows where the leader listens.
func (rt *Router) Ready() error {
	if rt.standby() {
		if _, ok := rt.deps.Leadership.LeaderAddress(); !ok {
			return errors.New("standby: no leader address known to forward webhooks to")
		}
	}
	return nil
}

// forward hands a signed delivery to the leader and answers with the
// leader's reply; when this replica leads by then, it routes it itself.
// Why forwarding, and what happens during a failover: see the package doc.
func (rt *Router) forward(r *http.Request, body []byte, event, delivery string) reply {
	if r.Header.Get(forwardedHeader) != "" {
		return reply{status: http.StatusServiceUnavailable, Result: "not_leader",
			Reason: "this replica does not lead; the replica that forwarded the delivery tries the leader again"}
	}
	ctx, cancel := context.WithTimeout(r.Context(), rt.opts.ForwardTimeout)
	defer cancel()
	var last error
	for {
		if !rt.standby() {
			return rt.route(event, r.Header.Get("Content-Type"), body, delivery)
		}
		if addr, ok := rt.deps.Leadership.LeaderAddress(); !ok {
			last = errors.New("no leader known, or the leader published no address")
		} else if rep, err := rt.send(ctx, addr, r, body); err != nil {
			last = err
		} else {
			rt.log.Debug("webhook forwarded to the leader", logkey.Event, event, logkey.Delivery, delivery, logkey.LeaderAddr, addr, logkey.Result, rep.Result)
			return rep
		}
		select {
		case <-ctx.Done():
			rt.log.Warn("webhook not forwarded: no leader reached", logkey.Event, event, logkey.Delivery, delivery, logkey.Error, last)
			return reply{status: http.StatusServiceUnavailable, Result: "no_leader",
				Reason: fmt.Sprintf("standby reached no leader within %s: %v", rt.opts.ForwardTimeout, last)}
		case <-time.After(forwardRetry):
		}
	}
}

// send posts the delivery to the replica at addr. An error means that
// replica did not take it: unreachable, not leading, or not gitopsd.
func (rt *Router) send(ctx context.Context, addr string, in *http.Request, body []byte) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+in.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return reply{}, fmt.Errorf("leader address %q: %w", addr, err)
	}
	for _, h := range []string{"Content-Type", "User-Agent", github.EventTypeHeader, github.DeliveryIDHeader, github.SHA256SignatureHeader} {
		if v := in.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set(forwardedHeader, "1")
	res, err := rt.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("forward to the leader at %s: %w", addr, err)
	}
	defer res.Body.Close()
	var rep reply
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&rep); err != nil || rep.Result == "" {
		return reply{}, fmt.Errorf("forward to the leader at %s: answer %s is not gitopsd's", addr, res.Status)
	}
	if res.StatusCode == http.StatusServiceUnavailable {
		return reply{}, fmt.Errorf("forward to the leader at %s: %s: %s", addr, rep.Result, rep.Reason)
	}
	rep.status, rep.ForwardedTo = res.StatusCode, addr
	return rep, nil
}

// newForwardClient reaches other replicas directly: a proxy set for Git or
// GitHub must not carry traffic between Pods.
func newForwardClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &http.Client{Transport: t}
}
