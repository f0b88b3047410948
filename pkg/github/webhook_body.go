package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// readBody reads a request's body within the read timeout, after taking
// room for it in the pending-bytes budget: its Content-Length, or the
// largest body when the length is not announced. release gives the room
// back; a non-zero rep.status is the answer when the body could not be had.
//
// Waiting for room reads nothing from the connection, so a flood of
// stalled senders holds the budget, some small buffers per connection and
// the kernel's socket buffers, never their bodies; each is cut off when its
// read timeout passes.
func (rt *Router) readBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), rep reply) {
	release = func() {}
	limit := rt.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, release, tooLarge(limit)
	}
	deadline := time.Now().Add(rt.opts.ReadTimeout)
	// Where the writer has no connection to bound (httptest's recorder),
	// the body is in memory already; the budget still applies.
	_ = http.NewResponseController(w).SetReadDeadline(deadline)
	room := limit
	if r.ContentLength >= 0 {
		room = r.ContentLength
	}
	waitCtx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	if err := rt.pending.Acquire(waitCtx, room); err != nil {
		w.Header().Set("Connection", "close")
		return nil, release, reply{status: http.StatusServiceUnavailable, Result: "busy", Reason: "too many deliveries in flight; try again"}
	}
	release = func() { rt.pending.Release(room) }

	body, err := readAtMost(r.Body, r.ContentLength, limit)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, release, tooLarge(limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		return nil, release, reply{status: http.StatusRequestTimeout, Result: "timeout", Reason: fmt.Sprintf("body not received within %s", rt.opts.ReadTimeout)}
	case err != nil:
		return nil, release, reply{status: http.StatusBadRequest, Result: "bad_request", Reason: "reading body failed"}
	}
	return body, release, reply{}
}

var errTooLarge = errors.New("body too large")

// readAtMost reads a body of the announced length (-1: unknown) into one
// buffer of that size, refusing more than limit bytes.
func readAtMost(r io.Reader, length, limit int64) ([]byte, error) {
	if length >= 0 {
		buf := make([]byte, length)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > limit {
		return nil, errTooLarge
	}
	return buf, nil
}

func tooLarge(limit int64) reply {
	return reply{status: http.StatusRequestEntityTooLarge, Result: "too_large", Reason: fmt.Sprintf("body over %d bytes", limit)}
}

// logLimiter lets one line through per interval and counts the others, so
// a flood of forged deliveries cannot flood the log.
type logLimiter struct {
	every      time.Duration
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether to log now, and how many lines were held back
// since the last one logged.
func (l *logLimiter) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	suppressed, l.suppressed = l.suppressed, 0
	l.next = now.Add(l.every)
	return true, suppressed
}
