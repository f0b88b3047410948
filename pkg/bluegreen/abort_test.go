package bluegreen_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// TestUnreadyIdleColourAborts merges a version whose pods never become
// ready: the cutover is aborted after the timeout naming the pods, blue is
// untouched and serves throughout, green goes back to zero, and the
// installation is Failed until a new commit.
func TestUnreadyIdleColourAborts(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{Timeout: "4s"})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	daemontest.Eventually(t, 30*time.Second, "blue to serve", func() bool { return servedBy(t, ns, "web", "web-blue", 2) })
	before := deployment(t, ns, "web-blue")

	served := watchEndpoints(t, ns, "web", "web-blue", 2)
	head, _ := f.merge(app{Timeout: "4s", Image: "example/web:2", Unready: true}, "web 2, never ready")
	in := d.waitFor(60*time.Second, "the abort", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Failed && step(head, bluegreen.StepAborted)(in)
	})
	served.stop()
	for _, want := range []string{"cutover #1 of commit " + head[:12] + " aborted", "Deployment web-green is not available", "pods not ready: web-green-", "web-blue still serves"} {
		if !strings.Contains(in.LastError, want) {
			t.Errorf("error %q does not say %q", in.LastError, want)
		}
	}
	after := deployment(t, ns, "web-blue")
	if after.Generation != before.Generation || image(after) != "example/web:1" || replicas(after) != 2 {
		t.Errorf("the live colour was modified: generation %d -> %d, image %s", before.Generation, after.Generation, image(after))
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Errorf("Service web selects %q after the abort, want blue", got)
	}
	if replicas(deployment(t, ns, "web-green")) != 0 {
		t.Errorf("web-green at %d replicas after the abort, want 0", replicas(deployment(t, ns, "web-green")))
	}
	daemontest.Eventually(t, 30*time.Second, "green's pods to go", func() bool { return len(podsOf(t, ns, bluegreen.Green)) == 0 })
	if gaps := served.gaps(); gaps != "" {
		t.Errorf("web was not served by blue's two pods throughout: %s", gaps)
	}

	// A retry of the same commit cannot help: the next reconcile leaves it
	// failed, and no cutover starts again.
	d.r.Trigger("web")
	in = d.waitFor(30*time.Second, "the next reconcile", func(in reconcile.InstallationStatus) bool { return in.Phase == reconcile.Failed })
	if n := in.BlueGreen.Cutover.Number; n != 1 || replicas(deployment(t, ns, "web-green")) != 0 {
		t.Errorf("after a reconcile: cutover #%d, green at %d replicas; want #1 still, green at zero", n, replicas(deployment(t, ns, "web-green")))
	}
}

// TestFailingJobAborts merges a version whose pre-cutover Job fails: the
// cutover is aborted with the Job's reason and nothing is switched.
func TestFailingJobAborts(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	head, _ := f.merge(app{Image: "example/web:2", JobFails: true}, "web 2, failing migration")
	in := d.waitFor(60*time.Second, "the abort", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Failed && step(head, bluegreen.StepAborted)(in)
	})
	if want := "pre-cutover Job web-migrate-1 failed: BackoffLimitExceeded"; !strings.Contains(in.LastError, want) {
		t.Errorf("error %q does not give the Job's reason %q", in.LastError, want)
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Errorf("Service web selects %q, want blue", got)
	}
	if replicas(deployment(t, ns, "web-green")) != 0 || replicas(deployment(t, ns, "web-blue")) != 2 {
		t.Errorf("after the abort: green at %d, blue at %d replicas; want 0 and 2",
			replicas(deployment(t, ns, "web-green")), replicas(deployment(t, ns, "web-blue")))
	}
	if in.BlueGreen.Live != bluegreen.Blue {
		t.Errorf("status says %s is live", in.BlueGreen.Live)
	}
}

// TestTurningBlueGreenOnReplacesPlainDeployment turns blueGreen on for an
// installation whose plain Deployment serves: blue is created from it, the
// Service switches once blue is available, and only then is the plain
// Deployment pruned; the Service always has ready endpoints.
func TestTurningBlueGreenOnReplacesPlainDeployment(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{Plain: true})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the plain apply", readyAt(f.git("rev-parse", "HEAD")))
	daemontest.Eventually(t, 30*time.Second, "the plain Deployment to serve", func() bool { return len(endpoints(t, ns, "web")) == 2 })

	served := watchEndpoints(t, ns, "web", "web", 2)
	head, _ := f.merge(app{}, "blue/green")
	d.waitFor(60*time.Second, "the switch to blue", settled(head, bluegreen.StepKeep))
	daemontest.Eventually(t, 30*time.Second, "blue to serve", func() bool { return servedBy(t, ns, "web", "web-blue", 2) })
	served.stop()
	if gaps := served.gaps(); gaps != "" {
		t.Errorf("web lacked ready endpoints: %s", gaps)
	}
	if exists(t, ns, "Deployment", "web") {
		t.Error("the plain Deployment web was not pruned after the switch")
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Errorf("Service web selects %q, want blue", got)
	}
}

// endpointWatch polls a Service's ready endpoints and remembers every look
// at which it did not have n ready endpoints, all pods of prefix.
type endpointWatch struct {
	mu   sync.Mutex
	bad  []string
	done chan struct{}
	wg   sync.WaitGroup
}

func watchEndpoints(t *testing.T, ns, service, prefix string, n int) *endpointWatch {
	w := &endpointWatch{done: make(chan struct{})}
	w.wg.Go(func() {
		for {
			select {
			case <-w.done:
				return
			case <-time.After(10 * time.Millisecond): // sampling, not synchronisation
			}
			pods := endpoints(t, ns, service)
			ok := len(pods) >= n
			for _, p := range pods {
				ok = ok && strings.HasPrefix(p, prefix+"-")
			}
			if !ok {
				w.mu.Lock()
				w.bad = append(w.bad, time.Now().Format("15:04:05.000")+" "+strings.Join(pods, ","))
				w.mu.Unlock()
			}
		}
	})
	return w
}

func (w *endpointWatch) stop() { close(w.done); w.wg.Wait() }

func (w *endpointWatch) gaps() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.bad) > 5 {
		return strings.Join(w.bad[:5], "; ") + "; ..."
	}
	return strings.Join(w.bad, "; ")
}
