package source

import (
	"context"
	"testing"
	"time"
)

// TestStatusShowsAHungServerBeforeTheTimeout stalls a real smart-HTTP
// server: Status says at once that a round has been under way since it
// began, and, once rounds fail, since when the repository has been failing.
func TestStatusShowsAHungServerBeforeTheTimeout(t *testing.T) {
	root := t.TempDir()
	newTestRepo(t, root, "fleet")
	srv := newGitServer(t, root, "", "")
	opts := testOptions(srv.URL+"/fleet.git", "main", t.TempDir())
	opts.Timeout = 3 * time.Second
	p := newTestPoller(t, opts, nil)
	good := mustPoll(t, p)
	if st := p.Status(); !st.PollingSince.IsZero() || !st.FailingSince.IsZero() {
		t.Fatalf("status after a good round = %+v, want no round under way and no failure", st)
	}

	srv.stalled.Store(true)
	before := time.Now()
	done := make(chan error, 1)
	go func() { _, err := p.Poll(context.Background()); done <- err }()
	st := waitStatus(t, p, 2*time.Second, func(st Status) bool { return !st.PollingSince.IsZero() })
	if st.PollingSince.Before(before) || st.LastError != nil || !st.FailingSince.IsZero() {
		t.Fatalf("status while the server hangs = %+v, want a round under way since %s and no error yet", st, before)
	}
	hungSince := st.PollingSince
	if err := <-done; ReasonOf(err) != ReasonTimeout {
		t.Fatalf("poll of a hung server: %v, want a timeout", err)
	}
	st = p.Status()
	if !st.PollingSince.IsZero() || !st.FailingSince.Equal(hungSince) || st.ConsecutiveFailures != 1 || st.Commit != good.Commit {
		t.Fatalf("status after the timeout = %+v, want failing since %s", st, hungSince)
	}

	// The outage goes on: it still started when the first round did.
	if _, err := p.Poll(context.Background()); err == nil {
		t.Fatal("a poll of a hung server succeeded")
	}
	if st := p.Status(); !st.FailingSince.Equal(hungSince) || st.ConsecutiveFailures != 2 {
		t.Fatalf("status after a second failure = %+v, want still failing since %s", st, hungSince)
	}

	srv.stalled.Store(false)
	mustPoll(t, p)
	if st := p.Status(); !st.FailingSince.IsZero() || !st.PollingSince.IsZero() || st.ConsecutiveFailures != 0 {
		t.Fatalf("status after recovery = %+v", st)
	}
}

// waitStatus polls p's status until ok, failing the test after timeout.
func waitStatus(t *testing.T, p *Poller, timeout time.Duration, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := p.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status not as wanted within %s: %+v", timeout, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
