package still

import (
	"context"
	"time"
)

// Wait reads count every `every` until it has not changed for still, or
// timeout passes. It returns the last count, and how long after the start
// it last changed (timeout when it never kept still).
func Wait(ctx context.Context, every, still, timeout time.Duration, count func() (int, error)) (int, time.Duration, error) {
	start := time.Now()
	last, err := count()
	if err != nil {
		return 0, 0, err
	}
	lastMove := start
	tick := time.NewTicker(every) // polling interval, bounded by timeout
	defer tick.Stop()
	for time.Since(lastMove) < still {
		if time.Since(start) >= timeout {
			return last, timeout, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return last, 0, ctx.Err()
		}
		n, err := count()
		if err != nil {
			return last, 0, err
		}
		if n != last {
			last, lastMove = n, time.Now()
		}
	}
	return last, lastMove.Sub(start), nil
}
