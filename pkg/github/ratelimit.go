package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// secondaryFallback is the first wait after a secondary limit that names no
// time: GitHub asks for at least a minute, growing with each repeat.
const secondaryFallback = time.Minute

// call runs one API request, waiting out rate limits and retrying it as
// GitHub documents: Retry-After when given, else the primary limit's reset,
// else a minute doubling per attempt. Writes are spaced first.
func (c *Client) call(ctx context.Context, what string, write bool, do func(context.Context) (*github.Response, error)) error {
	for attempt := 0; ; attempt++ {
		if write {
			if err := c.writes.wait(ctx); err != nil {
				return fmt.Errorf("github: %s: %w", what, err)
			}
		}
		_, err := do(ctx)
		if err == nil {
			return nil
		}
		wait, kind, limited := rateLimitWait(err, attempt, time.Now())
		switch {
		case !limited:
			return fmt.Errorf("github: %s: %w", what, err)
		case attempt >= c.opts.MaxRetries:
			return fmt.Errorf("github: %s: still rate limited after %d retries: %w", what, attempt, err)
		case wait > c.opts.MaxWait:
			return fmt.Errorf("github: %s: %s rate limit for %s, longer than the %s allowed: %w", what, kind, wait.Round(time.Second), c.opts.MaxWait, err)
		}
		c.log.Warn("github rate limit; waiting before retrying", logkey.Call, what, logkey.RateLimit, kind, logkey.Wait, wait.Round(time.Millisecond), logkey.Attempt, attempt+1)
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("github: %s: waiting out a %s rate limit: %w", what, kind, err)
		}
	}
}

// rateLimitWait says how long to wait before retrying after err, and which
// limit it was; limited is false for every other error.
func rateLimitWait(err error, attempt int, now time.Time) (wait time.Duration, kind string, limited bool) {
	var primary *github.RateLimitError
	var secondary *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &secondary):
		if secondary.RetryAfter != nil && *secondary.RetryAfter > 0 {
			return *secondary.RetryAfter, "secondary", true
		}
		return secondaryFallback << attempt, "secondary", true
	case errors.As(err, &primary):
		// A reset already past (clocks differ) still waits a moment, so a
		// repeated answer cannot spin.
		return max(primary.Rate.Reset.Sub(now), time.Second), "primary", true
	case errors.As(err, &resp) && resp.Response != nil:
		// go-github reads limits only from a 403 (a secondary one by its
		// documentation URL); GitHub answers either limit with 403 or 429.
		code, h := resp.Response.StatusCode, resp.Response.Header
		if code != http.StatusForbidden && code != http.StatusTooManyRequests {
			break
		}
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
			return time.Duration(s) * time.Second, "secondary", true
		}
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && h.Get("X-RateLimit-Remaining") == "0" {
			return max(time.Unix(reset, 0).Sub(now), time.Second), "primary", true
		}
		if code == http.StatusTooManyRequests {
			return secondaryFallback << attempt, "secondary", true
		}
	}
	return 0, "", false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeSpacer hands out write slots at least every apart, after a burst of
// up to burst writes: each caller reserves the next slot under the lock and
// sleeps outside it. next is when the writes so far would have ended had
// each taken every; a write may start burst-1 slots before it.
type writeSpacer struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	next  time.Time
}

func (w *writeSpacer) wait(ctx context.Context) error {
	w.mu.Lock()
	now := time.Now()
	if w.next.Before(now) {
		w.next = now
	}
	slot := w.next.Add(-time.Duration(max(w.burst-1, 0)) * w.every)
	if slot.Before(now) {
		slot = now
	}
	w.next = w.next.Add(w.every)
	w.mu.Unlock()
	if d := slot.Sub(now); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}

// keyedSerial runs one holder per key at a time, so that two updates of the
// same comment or status never race (two "first" comments, a pending status
// posted after the success it preceded). Waiting honours the context.
type keyedSerial struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the holder leaves
}

func (s *keyedSerial) lock(ctx context.Context, key string) (unlock func(), err error) {
	for {
		s.mu.Lock()
		busy, ok := s.held[key]
		if !ok {
			done := make(chan struct{})
			s.held[key] = done
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.held, key)
				s.mu.Unlock()
				close(done)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
