package daemontest

import (
	"fmt"
	"testing"
	"time"
)

// Poll calls ok until it returns true or timeout passes. It looks again
// after 10ms, then less often, up to every 100ms: quick for outcomes that
// come fast, light on the machine for those that take seconds.
func Poll(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	interval := 10 * time.Millisecond
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(interval) // polling interval, not synchronisation
		interval = min(2*interval, 100*time.Millisecond)
	}
	return nil
}

// Eventually polls ok as Poll does and fails the test, naming what it
// waited for, when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	if err := Poll(timeout, ok); err != nil {
		t.Fatalf("%v waiting for %s", err, what)
	}
}
