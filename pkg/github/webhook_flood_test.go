package github

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRouterStalledSendersDoNotPinMemory is the flood of issue 11: 200
// connections each announce a 1 MiB body, send 900 KiB of it and stall.
// The router holds at most MaxPendingBytes of their bodies, cuts every one
// off when its read timeout passes, and takes a good delivery right after.
func TestRouterStalledSendersDoNotPinMemory(t *testing.T) {
	const (
		conns    = 200
		announce = 1 << 20
		sent     = 900 << 10
		slack    = 5 * time.Second // for a loaded machine
	)
	opts := DefaultRouterOptions()
	opts.ReadTimeout = 2 * time.Second
	src := newSource(t, "https://github.com/example/fleet.git", "main")
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(newRouter(t, opts, RouterDeps{Sources: []Source{src}, Registerer: reg}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	baseline := heapInUse()
	stopPeak := samplePeak()

	body := make([]byte, sent)
	head := fmt.Sprintf("POST /hooks/github HTTP/1.1\r\nHost: gitopsd\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=%064x\r\nContent-Length: %d\r\n\r\n", 0, announce)
	start := time.Now()
	var ended sync.WaitGroup
	var late atomic.Int64
	for range conns {
		ended.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(start.Add(opts.ReadTimeout + slack))
			// The write blocks where the server reads nothing; it ends when
			// the server cuts the connection.
			_, _ = io.WriteString(c, head)
			_, _ = c.Write(body)
			if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				res.Body.Close()
			}
			// A response or a closed connection, whichever: it must come
			// before the client's own deadline.
			if time.Since(start) >= opts.ReadTimeout+slack {
				late.Add(1)
			}
		})
	}
	ended.Wait()
	peak := stopPeak()
	took := time.Since(start)
	t.Logf("%d stalled senders of %d KiB: cut off within %s; heap peak %.1f MiB over a baseline of %.1f MiB",
		conns, sent>>10, took.Round(time.Millisecond), float64(peak-baseline)/(1<<20), float64(baseline)/(1<<20))
	if n := late.Load(); n > 0 {
		t.Fatalf("%d of %d stalled connections were still open after %s", n, conns, opts.ReadTimeout+slack)
	}
	if grown := peak - baseline; grown > 48<<20 {
		t.Fatalf("heap grew by %.1f MiB during the flood; the pending budget is %d MiB", float64(grown)/(1<<20), opts.MaxPendingBytes>>20)
	}
	waitFor(t, 5*time.Second, "every stalled request answered busy or timeout", func() bool {
		return metric(t, reg, "gitopsd_webhook_requests_total", "event", "push", "result", "busy")+
			metric(t, reg, "gitopsd_webhook_requests_total", "event", "push", "result", "timeout") == conns
	})

	// The budget is free again: a real delivery goes through at once.
	push := pushPayload("refs/heads/main")
	req, _ := http.NewRequest("POST", srv.URL+"/hooks/github", strings.NewReader(string(push)))
	req.Header = signed("push", push).Header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || src.n.Load() != 1 {
		t.Fatalf("delivery after the flood: %s, %d triggers", res.Status, src.n.Load())
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// samplePeak samples the heap in use every few milliseconds until the
// returned function is called, which returns the highest sample.
func samplePeak() (stop func() uint64) {
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

// waitFor checks cond every few milliseconds until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
