package reconcile

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// proxy forwards TCP connections to the API server; down cuts them and
// refuses new ones, as an API server that went away.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestAPIServerOutageInStatus cuts the daemon off its API server: the
// status says so, with when it began, and clears once the server is back.
func TestAPIServerOutageInStatus(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n    interval: 1s\n",
		"app/a.yaml":   cm("a", "1"),
	})
	server, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, server.Host)
	cfg := rest.CopyConfig(env.Config)
	cfg.Host = "https://" + p.addr
	d := startDaemon(t, ns, rp, setup{config: cfg})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	if c := d.r.Status().Cluster; c != nil {
		t.Fatalf("an outage while the API server answers: %+v", c)
	}

	cut := time.Now()
	p.down()
	s := d.waitFor(20*time.Second, "the outage in the status", func(s Status) bool { return s.Cluster != nil })
	seen := time.Now()
	if since := s.Cluster.Since; since == nil || since.Before(cut) || since.After(seen) {
		t.Errorf("outage since %v, want between %v and %v", since, cut, seen)
	}
	if !strings.Contains(s.Cluster.Error, "does not answer") || !strings.Contains(s.Cluster.Error, p.addr) {
		t.Errorf("outage error %q", s.Cluster.Error)
	}
	t.Logf("outage seen after %s: %s", seen.Sub(cut).Round(time.Millisecond), s.Cluster.Error)

	p.up()
	d.waitFor(40*time.Second, "the outage to end", func(s Status) bool { return s.Cluster == nil })
}
