package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	base, limit := 5*time.Second, time.Minute
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got := backoff(base, limit, i+1); got != w {
			t.Errorf("failure %d: %s, want %s", i+1, got, w)
		}
	}
	if got := backoff(base, limit, 1000); got != limit {
		t.Errorf("after many failures: %s, want the cap %s", got, limit)
	}
}

// failingFleet is one installation whose ConfigMap goes to a namespace
// that does not exist yet: every apply fails until it does.
func failingFleet(t *testing.T, ns string) *repo {
	return newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   strings.ReplaceAll(cm("a", "1"), "namespace: NS", "namespace: NS-later"),
	})
}

// TestSameCommitIsRetriedWithBackoff fails an apply again and again on one
// commit: the retries come at 200ms, 400ms, 800ms, 1.6s, then the 2s cap,
// and the one after the namespace appears succeeds.
func TestSameCommitIsRetriedWithBackoff(t *testing.T) {
	ns := env.Namespace(t)
	d := startDaemon(t, ns, failingFleet(t, ns), setup{})
	if !poll(20*time.Second, func() bool { return len(d.events.with("ApplyFailed")) >= 6 }) {
		t.Fatalf("%d failures", len(d.events.with("ApplyFailed")))
	}
	failures := d.events.with("ApplyFailed")
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second}
	for i, w := range want {
		gap := failures[i+1].at.Sub(failures[i].at)
		if gap < w || gap > w+time.Second {
			t.Errorf("retry %d came after %s, want %s", i+1, gap.Round(time.Millisecond), w)
		}
	}
	in := d.r.Status().Installations[0]
	if in.Phase != Failed || in.NextRetry == nil || !strings.Contains(in.LastError, ns+"-later") {
		t.Errorf("status of a failing installation: %+v", in)
	}
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns + "-later"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns+"-later", metav1.DeleteOptions{})
	})
	d.waitFor(10*time.Second, "the retry to succeed", func(s Status) bool { return s.Installations[0].Phase == Ready })
}

// TestDriftDoesNotAdvanceTheBackoff pokes a failing installation as drift
// does, many times: each poke reconciles, but the next retry stays where the
// failures put it.
func TestDriftDoesNotAdvanceTheBackoff(t *testing.T) {
	ns := env.Namespace(t)
	d := startDaemon(t, ns, failingFleet(t, ns), setup{opts: func(o *Options) { o.RetryBase, o.MaxBackoff = 5*time.Second, time.Minute }})
	s := d.waitFor(10*time.Second, "the first failure", func(s Status) bool { return len(s.Installations) == 1 && s.Installations[0].Phase == Failed })
	next := *s.Installations[0].NextRetry
	for i := range 5 {
		n := len(d.events.with("ApplyFailed"))
		d.r.Trigger("app")
		if !poll(5*time.Second, func() bool { return len(d.events.with("ApplyFailed")) > n }) {
			t.Fatalf("poke %d did not reconcile", i)
		}
	}
	got := *d.r.Status().Installations[0].NextRetry
	if diff := got.Sub(next); diff > 100*time.Millisecond || diff < -100*time.Millisecond {
		t.Errorf("after 5 pokes the next retry moved from %s to %s", next.Format(time.StampMilli), got.Format(time.StampMilli))
	}
}

// TestOwnershipErrorIsRetriedSoon starts a second daemon, of another
// source, on an installation the first owns: it fails with an ownership
// error and looks again within its backoff, not at the 10-minute interval,
// so that it takes over soon after the inventory is handed over.
func TestOwnershipErrorIsRetriedSoon(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	first := startDaemon(t, ns, newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: shared\n    path: app\n",
		"app/a.yaml":   cm("a", "1"),
	}), setup{})
	first.waitFor(10*time.Second, "the first daemon", func(s Status) bool { return len(s.Installations) == 1 && s.Installations[0].Phase == Ready })
	first.stop()

	second := startDaemon(t, ns, newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: shared\n    path: app\n",
		"app/b.yaml":   cm("b", "1"),
	}), setup{source: "https://example.com/other.git@main"})
	s := second.waitFor(10*time.Second, "the ownership error", func(s Status) bool { return len(s.Installations) == 1 && s.Installations[0].Phase == Failed })
	in := s.Installations[0]
	if !strings.Contains(in.LastError, "belongs to") {
		t.Errorf("not an ownership error: %q", in.LastError)
	}
	if wait := in.NextRetry.Sub(*in.LastErrorTime); wait > 2*time.Second {
		t.Errorf("an ownership error is looked at again after %s, want within the backoff", wait)
	}
	if err := first.store.Delete(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	second.waitFor(10*time.Second, "the take-over", func(s Status) bool { return s.Installations[0].Phase == Ready })
}
