package reconcile

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// TestDenyWindowHoldsACommit follows a real repository with a deny window
// from 09:00 to 17:00: a commit made inside it is held, and applies once the
// window has closed.
func TestDenyWindowHoldsACommit(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: held\n    path: app\n    windows:\n      - kind: deny\n        schedule: \"0 9 * * *\"\n        duration: 8h\n",
		"app/cm.yaml":  cm("settings", "1"),
	})
	clk := &clock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	d := startDaemon(t, ns, rp, setup{opts: func(o *Options) { o.Now = clk.Now }})
	d.waitFor(10*time.Second, "the first apply", func(s Status) bool { return len(s.Installations) == 1 && s.Installations[0].Phase == Ready })
	version := func() string {
		got, err := env.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Data["v"]
	}

	clk.Set(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	rp.write("app/cm.yaml", cm("settings", "2"))
	rp.commit("v2")
	s := d.waitFor(10*time.Second, "the commit to be held", func(s Status) bool { return s.Installations[0].Phase == Held })
	if until := s.Installations[0].HeldUntil; until == nil || !until.Equal(time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("held until %v, want 17:00 UTC", until)
	}
	if v := version(); v != "1" {
		t.Errorf("a held commit was applied: version %s", v)
	}
	clk.Set(time.Date(2026, 11, 23, 17, 0, 1, 0, time.UTC))
	d.r.Trigger("held")
	d.waitFor(10*time.Second, "the commit after the window", func(s Status) bool { return s.Installations[0].Phase == Ready })
	if v := version(); v != "2" {
		t.Errorf("after the window: version %s, want 2", v)
	}
}
