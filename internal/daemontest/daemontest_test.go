package daemontest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "line %d\n", i)
			_ = b.String()
		}()
	}
	wg.Wait()
	if got := strings.Count(b.String(), "\n"); got != 10 {
		t.Fatalf("got %d lines, want 10:\n%s", got, b.String())
	}
}

func TestFreeAddrCanBeListenedOn(t *testing.T) {
	addr := FreeAddr(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	l.Close()
}

func TestPoll(t *testing.T) {
	calls := 0
	if err := Poll(time.Second, func() bool { calls++; return calls == 3 }); err != nil {
		t.Fatalf("poll of a condition that comes true: %v", err)
	}
	if calls != 3 {
		t.Fatalf("ok called %d times, want 3", calls)
	}
	start := time.Now()
	err := Poll(50*time.Millisecond, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("poll of a condition that never comes true: %v", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond || waited > time.Second {
		t.Fatalf("gave up after %s, want about 50ms", waited)
	}
}
