package githubtest

import (
	"net/http"
	"strconv"
	"time"
)

// Documentation URLs GitHub puts in rate-limit errors; go-github tells a
// secondary limit from other 403s by the second.
const (
	primaryLimitDoc   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
	secondaryLimitDoc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// Limit is a rate-limit error the server answers instead of serving a
// request. Build one with PrimaryLimit or SecondaryLimit.
type Limit struct {
	secondary bool
	// status is 403 or 429.
	status int
	// wait is until the reset (primary) or the Retry-After (secondary, in
	// whole seconds; zero sends no header).
	wait time.Duration
}

// PrimaryLimit is GitHub's answer when the hourly quota is spent: 403 with
// X-RateLimit-Remaining: 0 and X-RateLimit-Reset the given time from now
// (rounded up to a whole second, as the header holds Unix seconds).
func PrimaryLimit(resetIn time.Duration) Limit {
	return Limit{status: http.StatusForbidden, wait: resetIn}
}

// SecondaryLimit is GitHub's answer to too many requests too fast: status
// 403 or 429 and, when retryAfter is positive, Retry-After in whole seconds
// (rounded up).
func SecondaryLimit(status int, retryAfter time.Duration) Limit {
	return Limit{secondary: true, status: status, wait: retryAfter}
}

// RateLimitNext makes the server answer the next n authorised requests with
// l instead of serving them.
func (s *Server) RateLimitNext(n int, l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.limits = append(s.limits, l)
	}
}

func (l Limit) answer(w http.ResponseWriter) {
	h := w.Header()
	if !l.secondary {
		reset := time.Now().Add(l.wait)
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(reset), 10))
		writeErrorDoc(w, l.status, "API rate limit exceeded for user ID 1.", primaryLimitDoc)
		return
	}
	if l.wait > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((l.wait+time.Second-1)/time.Second), 10))
	}
	writeErrorDoc(w, l.status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", secondaryLimitDoc)
}

// setRateHeaders are the primary-limit headers every GitHub answer carries.
func setRateHeaders(h http.Header, remaining int, reset time.Time) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimitPerHour))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(rateLimitPerHour-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func ceilUnix(t time.Time) int64 {
	if t.Truncate(time.Second).Equal(t) {
		return t.Unix()
	}
	return t.Unix() + 1
}
