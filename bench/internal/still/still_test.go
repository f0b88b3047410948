package still

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	n := 0
	count, took, err := Wait(context.Background(), time.Millisecond, 20*time.Millisecond, time.Minute, func() (int, error) {
		if n < 5 {
			n++
		}
		return n, nil
	})
	if err != nil || count != 5 || took <= 0 || took > time.Second {
		t.Errorf("Wait = %d, %s, %v; want 5 after a few ms", count, took, err)
	}

	moving := 0
	_, took, err = Wait(context.Background(), time.Millisecond, time.Second, 30*time.Millisecond, func() (int, error) {
		moving++
		return moving, nil
	})
	if err != nil || took != 30*time.Millisecond {
		t.Errorf("a count that never keeps still: %s, %v; want the timeout", took, err)
	}

	boom := errors.New("boom")
	if _, _, err := Wait(context.Background(), time.Millisecond, time.Second, time.Second, func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
