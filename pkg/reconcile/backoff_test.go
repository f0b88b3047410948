package reconcile

import (
	"testing"
	"time"
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
