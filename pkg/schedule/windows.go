package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Kind is what an open window does.
type Kind string

const (
	Allow Kind = "allow"
	Deny  Kind = "deny"
)

// Window opens at each activation of a cron schedule and stays open for a
// duration.
type Window struct {
	Kind     Kind
	Schedule string // the cron expression as written
	Duration time.Duration
	Location *time.Location

	sched cron.Schedule
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NewWindow parses a window: a five-field cron expression (or a descriptor
// such as @daily), a positive duration, and an IANA time zone ("" is UTC).
func NewWindow(kind Kind, expr string, d time.Duration, timezone string) (Window, error) {
	if kind != Allow && kind != Deny {
		return Window{}, fmt.Errorf("kind %q: use %q or %q", kind, Allow, Deny)
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return Window{}, fmt.Errorf("schedule %q: %w", expr, err)
	}
	if d <= 0 {
		return Window{}, fmt.Errorf("duration %s must be positive", d)
	}
	loc := time.UTC
	if timezone != "" {
		if loc, err = time.LoadLocation(timezone); err != nil {
			return Window{}, fmt.Errorf("timezone %q is not an IANA time zone such as Europe/Berlin", timezone)
		}
	}
	return Window{Kind: kind, Schedule: expr, Duration: d, Location: loc, sched: sched}, nil
}

// Open reports whether the window is open at t, and if so until when.
func (w Window) Open(t time.Time) (bool, time.Time) {
	t = t.In(w.Location)
	// The first activation after t-Duration opened a window that is still
	// open at t if it is not after t.
	start := w.sched.Next(t.Add(-w.Duration))
	if start.IsZero() || start.After(t) {
		return false, time.Time{}
	}
	end := start.Add(w.Duration)
	// Overlapping activations keep the window open longer.
	for next := w.sched.Next(start); !next.IsZero() && !next.After(end) && next.Before(t.Add(366*24*time.Hour)); next = w.sched.Next(next) {
		end = next.Add(w.Duration)
	}
	return true, end
}

// next returns when the window next opens after t.
func (w Window) next(t time.Time) time.Time { return w.sched.Next(t.In(w.Location)) }

func (w Window) String() string {
	return fmt.Sprintf("%s %q for %s (%s)", w.Kind, w.Schedule, w.Duration, w.Location)
}

// Windows are an installation's sync windows.
type Windows []Window

// Allowed reports whether changes may apply at t. When they may not, until
// is when they next may (zero if never within a year).
func (ws Windows) Allowed(t time.Time) (ok bool, until time.Time) {
	if ws.allowedAt(t) {
		return true, time.Time{}
	}
	// Step from one window edge to the next until changes are allowed.
	at := t
	for range 10000 {
		next := ws.nextEdge(at)
		if next.IsZero() || next.Sub(t) > 366*24*time.Hour {
			return false, time.Time{}
		}
		if ws.allowedAt(next) {
			return false, next
		}
		at = next
	}
	return false, time.Time{}
}

func (ws Windows) allowedAt(t time.Time) bool {
	hasAllow, allowed := false, false
	for _, w := range ws {
		open, _ := w.Open(t)
		switch w.Kind {
		case Deny:
			if open {
				return false
			}
		case Allow:
			hasAllow = true
			allowed = allowed || open
		}
	}
	return !hasAllow || allowed
}

// nextEdge is the earliest time after t at which a window opens or closes.
func (ws Windows) nextEdge(t time.Time) time.Time {
	var edge time.Time
	consider := func(c time.Time) {
		if !c.IsZero() && c.After(t) && (edge.IsZero() || c.Before(edge)) {
			edge = c
		}
	}
	for _, w := range ws {
		if open, end := w.Open(t); open {
			consider(end)
		}
		consider(w.next(t))
	}
	return edge
}
