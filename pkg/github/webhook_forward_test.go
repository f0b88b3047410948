package github

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// leadership is a Leadership whose answers a test sets; addrs are the
// leader addresses answered one per call, the last one from then on.
type leadership struct {
	mu      sync.Mutex
	leading bool
	addrs   []string
	asked   int
	// leadAfter, when positive, makes this replica lead once the leader's
	// address was asked that many times, as a standby taking the Lease.
	leadAfter int
}

func (l *leadership) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading
}

func (l *leadership) LeaderAddress() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked++
	if l.leadAfter > 0 && l.asked >= l.leadAfter {
		l.leading = true
	}
	if len(l.addrs) == 0 {
		return "", false
	}
	addr := l.addrs[min(l.asked, len(l.addrs))-1]
	return addr, addr != ""
}

// replica is a router serving HTTP as one gitopsd replica does.
type replica struct {
	*Router
	url string
	src *countingSource
	prs *recordingPRs
	reg *prometheus.Registry
}

func newReplica(t *testing.T, opts RouterOptions, l *leadership) *replica {
	t.Helper()
	r := &replica{src: newSource(t, "https://github.com/example/fleet.git", "main"), prs: &recordingPRs{}, reg: prometheus.NewRegistry()}
	r.Router = newRouter(t, opts, RouterDeps{Sources: []Source{r.src}, PullRequests: r.prs, Leadership: l, Registerer: r.reg})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/github", r.Router)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *replica) addr() string { return strings.TrimPrefix(r.url, "http://") }

// deliver posts a delivery signed with the test secret, as GitHub does,
// plus any extra headers.
func (r *replica) deliver(t *testing.T, event string, body []byte, extra ...string) (int, reply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+"/hooks/github", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	req.Header.Set("X-Hub-Signature-256", sign(body, testSecret))
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rep reply
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatalf("reply is not JSON: %v", err)
	}
	return res.StatusCode, rep
}

// TestStandbyForwardsToTheLeader: a push and a pull_request delivered to
// the standby are acted on by the leader, with the payload as sent, and
// the standby acts on nothing itself.
func TestStandbyForwardsToTheLeader(t *testing.T) {
	leader := newReplica(t, DefaultRouterOptions(), &leadership{leading: true})
	standby := newReplica(t, DefaultRouterOptions(), &leadership{addrs: []string{leader.addr()}})

	code, rep := standby.deliver(t, "push", pushPayload("refs/heads/main"))
	if code != http.StatusAccepted || rep.Result != "triggered" || rep.ForwardedTo != leader.addr() {
		t.Errorf("push to the standby: %d %+v, want 202 triggered, forwarded to %s", code, rep, leader.addr())
	}
	code, rep = standby.deliver(t, "pull_request", prPayload("synchronize", "main", nil))
	if code != http.StatusAccepted || rep.Result != "planned" || rep.ForwardedTo != leader.addr() {
		t.Errorf("pull_request to the standby: %d %+v, want 202 planned, forwarded", code, rep)
	}
	if planned, _ := leader.prs.calls(); len(planned) != 1 || planned[0].Number != 42 || planned[0].HeadSHA != sha(42) {
		t.Errorf("the leader planned %+v, want #42 at %s", planned, sha(42))
	}
	if n := leader.src.n.Load(); n != 1 {
		t.Errorf("the leader's source was triggered %d times, want 1", n)
	}
	if planned, _ := standby.prs.calls(); standby.src.n.Load() != 0 || len(planned) != 0 {
		t.Errorf("the standby acted itself: %d triggers, %d plans", standby.src.n.Load(), len(planned))
	}
	// A ping is answered where it lands.
	if code, rep := standby.deliver(t, "ping", []byte(`{"zen":"Design for failure."}`)); code != http.StatusOK || rep.Result != "pong" || rep.ForwardedTo != "" {
		t.Errorf("ping to the standby: %d %+v", code, rep)
	}
	for _, c := range []struct {
		r             *replica
		event, result string
	}{{standby, "push", "forwarded"}, {standby, "pull_request", "forwarded"}, {leader, "push", "triggered"}, {leader, "pull_request", "planned"}} {
		if got := metric(t, c.r.reg, "gitopsd_webhook_requests_total", "event", c.event, "result", c.result); got != 1 {
			t.Errorf("gitopsd_webhook_requests_total{event=%q,result=%q} = %v, want 1", c.event, c.result, got)
		}
	}
}

// TestForwardingDuringFailover: while the Lease moves, a standby keeps
// trying within its timeout, and never passes a delivery around.
func TestForwardingDuringFailover(t *testing.T) {
	opts := DefaultRouterOptions()
	opts.ForwardTimeout = time.Second

	t.Run("the old leader refuses, the new one acts", func(t *testing.T) {
		old := newReplica(t, opts, &leadership{}) // stepped down
		leader := newReplica(t, opts, &leadership{leading: true})
		standby := newReplica(t, opts, &leadership{addrs: []string{old.addr(), leader.addr()}})
		code, rep := standby.deliver(t, "push", pushPayload("refs/heads/main"))
		if code != http.StatusAccepted || rep.ForwardedTo != leader.addr() || leader.src.n.Load() != 1 || old.src.n.Load() != 0 {
			t.Errorf("push: %d %+v; triggers old=%d new=%d; want 202 from the new leader", code, rep, old.src.n.Load(), leader.src.n.Load())
		}
		if got := metric(t, old.reg, "gitopsd_webhook_requests_total", "event", "push", "result", "not_leader"); got != 1 {
			t.Errorf("the old leader refused %v deliveries, want 1", got)
		}
	})

	t.Run("the standby takes the Lease and acts itself", func(t *testing.T) {
		standby := newReplica(t, opts, &leadership{leadAfter: 3})
		code, rep := standby.deliver(t, "push", pushPayload("refs/heads/main"))
		if code != http.StatusAccepted || rep.Result != "triggered" || rep.ForwardedTo != "" || standby.src.n.Load() != 1 {
			t.Errorf("push: %d %+v, %d triggers; want 202 triggered here", code, rep, standby.src.n.Load())
		}
	})

	t.Run("no leader answers", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		standby := newReplica(t, opts, &leadership{addrs: []string{strings.TrimPrefix(gone.URL, "http://")}})
		start := time.Now()
		code, rep := standby.deliver(t, "push", pushPayload("refs/heads/main"))
		took := time.Since(start)
		if code != http.StatusServiceUnavailable || rep.Result != "no_leader" || !strings.Contains(rep.Reason, gone.URL[len("http://"):]) {
			t.Errorf("push: %d %+v, want 503 no_leader naming the address tried", code, rep)
		}
		if took < opts.ForwardTimeout || took > opts.ForwardTimeout+2*time.Second {
			t.Errorf("answered after %s, want about the forward timeout %s", took, opts.ForwardTimeout)
		}
	})

	t.Run("two standbys do not pass it around", func(t *testing.T) {
		la, lb := &leadership{}, &leadership{}
		a, b := newReplica(t, opts, la), newReplica(t, opts, lb)
		la.addrs, lb.addrs = []string{b.addr()}, []string{a.addr()}
		code, rep := a.deliver(t, "push", pushPayload("refs/heads/main"))
		if code != http.StatusServiceUnavailable || rep.Result != "no_leader" {
			t.Errorf("push: %d %+v, want 503 no_leader", code, rep)
		}
		if got := metric(t, a.reg, "gitopsd_webhook_requests_total", "event", "push", "result", "not_leader"); got != 0 {
			t.Errorf("b forwarded back to a %v times", got)
		}
		if got := metric(t, b.reg, "gitopsd_webhook_requests_total", "event", "push", "result", "not_leader"); got == 0 {
			t.Error("a never reached b")
		}
		if a.src.n.Load()+b.src.n.Load() != 0 {
			t.Error("a standby acted on the delivery")
		}
	})
}

// TestForwardedDeliveryIsCheckedAgain: the header that marks a forwarded
// delivery grants nothing; the leader checks the signature as for any.
func TestForwardedDeliveryIsCheckedAgain(t *testing.T) {
	leader := newReplica(t, DefaultRouterOptions(), &leadership{leading: true})
	body := pushPayload("refs/heads/main")
	code, rep := leader.deliver(t, "push", body, forwardedHeader, "1", "X-Hub-Signature-256", sign(body, "another secret"))
	if code != http.StatusUnauthorized || leader.src.n.Load() != 0 {
		t.Errorf("forwarded delivery with a wrong signature: %d %+v, %d triggers; want 401 and none", code, rep, leader.src.n.Load())
	}
}

// TestRouterReady: a standby is ready once it knows where to forward.
func TestRouterReady(t *testing.T) {
	for name, tc := range map[string]struct {
		l     Leadership
		ready bool
	}{
		"no leader election":         {nil, true},
		"leader":                     {&leadership{leading: true}, true},
		"standby knowing the leader": {&leadership{addrs: []string{"10.0.0.7:8080"}}, true},
		"standby knowing no leader":  {&leadership{}, false},
	} {
		rt := newRouter(t, DefaultRouterOptions(), RouterDeps{Leadership: tc.l})
		if err := rt.Ready(); (err == nil) != tc.ready {
			t.Errorf("%s: Ready = %v, want ready %v", name, err, tc.ready)
		}
	}
}
