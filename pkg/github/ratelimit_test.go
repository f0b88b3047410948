package github

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"
)

// primed is a client that has posted a pending status on sha(1), so the
// next SetStatus there is a single POST.
func primed(t *testing.T, srv *githubtest.Server, change func(*Options)) (*Client, *prometheus.Registry) {
	t.Helper()
	c, reg := newClient(t, srv, change)
	if _, err := c.SetStatus(ctx, Status{SHA: sha(1), Context: "gitopsd/plan", State: Pending}); err != nil {
		t.Fatal(err)
	}
	return c, reg
}

var success = Status{SHA: sha(1), Context: "gitopsd/plan", State: Success, Description: "0 to create, 1 to change, 0 to delete"}

// TestSecondaryRateLimitWaitedOut: GitHub answers the status twice with a
// secondary limit (403 or 429, Retry-After: 1); the status is posted after
// both waits, and the metrics count every answer.
func TestSecondaryRateLimitWaitedOut(t *testing.T) {
	for _, code := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			srv := newFake(t)
			c, reg := primed(t, srv, nil)
			srv.RateLimitNext(2, githubtest.SecondaryLimit(code, time.Second))
			start := time.Now()
			posted, err := c.SetStatus(ctx, success)
			took := time.Since(start)
			if err != nil || !posted {
				t.Fatalf("SetStatus = %v, %v", posted, err)
			}
			if took < 2*time.Second {
				t.Fatalf("posted after %s, before two Retry-After waits of 1s", took)
			}
			var codes []int
			for _, r := range srv.Requests() {
				if r.Method == "POST" {
					codes = append(codes, r.Status)
				}
			}
			if want := []int{201, code, code, 201}; !slices.Equal(codes, want) {
				t.Fatalf("POST answers %v, want %v", codes, want)
			}
			if got := srv.Statuses(sha(1)); len(got) != 2 || got[1].GetState() != "success" {
				t.Fatalf("statuses %v", got)
			}
			if got := metric(t, reg, "gitopsd_github_requests_total", "code", itoa(int64(code))); got != 2 {
				t.Fatalf("requests_total{code=%d} = %v, want 2", code, got)
			}
			if got := metric(t, reg, "gitopsd_github_rate_remaining"); got < 4990 {
				t.Fatalf("rate_remaining = %v", got)
			}
		})
	}
}

func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	srv := newFake(t)
	c, _ := primed(t, srv, nil)
	srv.RateLimitNext(1, githubtest.PrimaryLimit(500*time.Millisecond))
	start := time.Now()
	if posted, err := c.SetStatus(ctx, success); err != nil || !posted {
		t.Fatalf("SetStatus = %v, %v", posted, err)
	}
	// The reset is a whole Unix second, at least 500ms away.
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Fatalf("posted after %s, before the reset", took)
	}
	if got := countRequests(srv, "POST", "/statuses/"+sha(1)); got != 3 {
		t.Fatalf("%d POSTs, want the primed one, the limited one and the retry", got)
	}
}

func TestRateLimitGivesUp(t *testing.T) {
	t.Run("reset beyond MaxWait", func(t *testing.T) {
		srv := newFake(t)
		c, _ := primed(t, srv, func(o *Options) { o.MaxWait = time.Minute })
		srv.RateLimitNext(1, githubtest.PrimaryLimit(time.Hour))
		start := time.Now()
		_, err := c.SetStatus(ctx, success)
		var limit *github.RateLimitError
		if !errors.As(err, &limit) || !strings.Contains(err.Error(), "longer than the 1m0s allowed") {
			t.Fatalf("SetStatus = %v, want a primary rate limit error", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("gave up after %s, not at once", took)
		}
	})
	t.Run("retries spent", func(t *testing.T) {
		srv := newFake(t)
		c, _ := primed(t, srv, func(o *Options) { o.MaxRetries = 1 })
		srv.RateLimitNext(3, githubtest.SecondaryLimit(http.StatusTooManyRequests, time.Second))
		if _, err := c.SetStatus(ctx, success); err == nil || !strings.Contains(err.Error(), "after 1 retries") {
			t.Fatalf("SetStatus = %v, want rate limited after 1 retry", err)
		}
		if got := countRequests(srv, "POST", "/statuses/"+sha(1)); got != 3 {
			t.Fatalf("%d POSTs, want the primed one and two tries", got)
		}
	})
	t.Run("context ends the wait", func(t *testing.T) {
		srv := newFake(t)
		c, _ := primed(t, srv, nil)
		srv.RateLimitNext(1, githubtest.SecondaryLimit(http.StatusForbidden, 30*time.Second))
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if _, err := c.SetStatus(short, success); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SetStatus = %v, want the context's deadline", err)
		}
	})
}

// TestWritesSpaced: writes from many goroutines leave at least
// WriteSpacing apart.
func TestWritesSpaced(t *testing.T) {
	srv := newFake(t)
	const spacing = 150 * time.Millisecond
	c, _ := newClient(t, srv, func(o *Options) { o.WriteSpacing = spacing })
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			if _, err := c.SetStatus(ctx, Status{SHA: sha(10 + i), Context: "gitopsd/plan", State: Pending}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var at []time.Time
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			at = append(at, r.At)
		}
	}
	if len(at) != 5 {
		t.Fatalf("%d writes, want 5", len(at))
	}
	// The spacing holds when the writes leave the client; arrivals at the
	// server carry scheduling delays, which can shorten one gap by what
	// they lengthened the one before. So every two gaps must hold at
	// least one spacing, and the five writes at least three.
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for i := 2; i < len(at); i++ {
		if gap := at[i].Sub(at[i-2]); gap < spacing {
			t.Fatalf("writes %d and %d %s apart, want at least %s", i-2, i, gap, spacing)
		}
	}
	if span := at[4].Sub(at[0]); span < 3*spacing {
		t.Fatalf("five writes within %s, want at least %s", span, 3*spacing)
	}
}

// TestWriteBurst: three writes go out at once, the next ones spaced.
func TestWriteBurst(t *testing.T) {
	const spacing = 200 * time.Millisecond
	w := writeSpacer{every: spacing, burst: 3}
	start := time.Now()
	var at []time.Duration
	for range 5 {
		if err := w.wait(ctx); err != nil {
			t.Fatal(err)
		}
		at = append(at, time.Since(start))
	}
	for i, want := range []time.Duration{0, 0, 0, spacing, 2 * spacing} {
		if at[i] < want || at[i] > want+100*time.Millisecond {
			t.Errorf("write %d after %s, want %s", i, at[i], want)
		}
	}
}

func TestRateLimitWait(t *testing.T) {
	now := time.Now()
	resp := func(code int, header ...string) *http.Response {
		h := http.Header{}
		for i := 0; i < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	retry := 3 * time.Second
	for _, tc := range []struct {
		name    string
		err     error
		attempt int
		wait    time.Duration
		limited bool
	}{
		{"primary", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(time.Minute)}}}, 0, time.Minute, true},
		{"primary reset already past", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(-time.Minute)}}}, 0, time.Second, true},
		{"secondary with Retry-After", &github.AbuseRateLimitError{RetryAfter: &retry}, 0, retry, true},
		{"secondary without, third time", &github.AbuseRateLimitError{}, 2, 4 * time.Minute, true},
		{"429 with Retry-After", &github.ErrorResponse{Response: resp(429, "Retry-After", "7")}, 0, 7 * time.Second, true},
		{"403 with Retry-After", &github.ErrorResponse{Response: resp(403, "Retry-After", "2")}, 0, 2 * time.Second, true},
		{"429 with the quota spent", &github.ErrorResponse{Response: resp(429, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Hour).Unix(), 10))}, 0, time.Unix(now.Add(time.Hour).Unix(), 0).Sub(now), true},
		{"429 without headers, second time", &github.ErrorResponse{Response: resp(429)}, 1, 2 * time.Minute, true},
		{"403 without: a permission error", &github.ErrorResponse{Response: resp(403)}, 0, 0, false},
		{"422", &github.ErrorResponse{Response: resp(422)}, 0, 0, false},
		{"transport error", errors.New("connection refused"), 0, 0, false},
	} {
		wait, _, limited := rateLimitWait(tc.err, tc.attempt, now)
		if limited != tc.limited || wait != tc.wait {
			t.Errorf("%s: wait %s, limited %v; want %s, %v", tc.name, wait, limited, tc.wait, tc.limited)
		}
	}
}
