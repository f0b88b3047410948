package github

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSetStatusPostsOnlyChanges(t *testing.T) {
	srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	head := sha(1)
	steps := []struct {
		st   Status
		post bool
	}{
		{Status{SHA: head, Context: "gitopsd/plan", State: Pending, Description: "planning"}, true},
		{Status{SHA: head, Context: "gitopsd/plan", State: Pending, Description: "planning"}, false},
		{Status{SHA: head, Context: "gitopsd/plan", State: Success, Description: "1 to create, 0 to change, 0 to delete"}, true},
		{Status{SHA: head, Context: "gitopsd/plan", State: Success, Description: "1 to create, 0 to change, 0 to delete"}, false},
		{Status{SHA: head, Context: "GitOpsD/Plan", State: Success, Description: "1 to create, 0 to change, 0 to delete"}, false}, // contexts are case-insensitive
		{Status{SHA: head, Context: "gitopsd/plan", State: Success, Description: "2 to create, 0 to change, 0 to delete"}, true},
		{Status{SHA: head, Context: "gitopsd/plan/staging", State: Success, Description: "2 to create, 0 to change, 0 to delete"}, true},
		{Status{SHA: strings.ToUpper(sha(2)), Context: "gitopsd/plan", State: Pending}, true},
	}
	for i, s := range steps {
		posted, err := c.SetStatus(ctx, s.st)
		if err != nil || posted != s.post {
			t.Fatalf("step %d %+v: posted %v, %v; want %v", i, s.st, posted, err, s.post)
		}
	}
	if got := len(srv.Statuses(head)); got != 4 {
		t.Fatalf("%d statuses on the head, want 4", got)
	}

	// A restarted daemon does not repeat the last status: it reads it back.
	restarted, _ := newClient(t, srv, nil)
	if posted, err := restarted.SetStatus(ctx, steps[5].st); err != nil || posted {
		t.Fatalf("same status after restart: posted %v, %v", posted, err)
	}
	if posted, err := restarted.SetStatus(ctx, Status{SHA: head, Context: "gitopsd/plan", State: Failure, Description: "render failed"}); err != nil || !posted {
		t.Fatalf("new status after restart: posted %v, %v", posted, err)
	}
	if got := srv.Statuses(head); len(got) != 5 || got[4].GetState() != "failure" {
		t.Fatalf("statuses %v", got)
	}
}

func TestSetStatusShortensDescription(t *testing.T) {
	srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	long := strings.Repeat("ü", 300)
	if _, err := c.SetStatus(ctx, Status{SHA: sha(1), Context: "gitopsd/plan", State: Failure, Description: long, TargetURL: "https://gitopsd.example/plans/7"}); err != nil {
		t.Fatalf("SetStatus with a long description: %v", err)
	}
	got := srv.Statuses(sha(1))[0]
	if n := utf8.RuneCountInString(got.GetDescription()); n != MaxDescription || !strings.HasSuffix(got.GetDescription(), "…") {
		t.Fatalf("description of %d characters %q", n, got.GetDescription())
	}
	if got.GetTargetURL() != "https://gitopsd.example/plans/7" {
		t.Fatalf("target URL %q", got.GetTargetURL())
	}
}

func TestSetStatusRejectsBadInput(t *testing.T) {
	srv := newFake(t)
	c, _ := newClient(t, srv, nil)
	for _, st := range []Status{
		{SHA: "abc123", Context: "gitopsd/plan", State: Pending},
		{SHA: sha(1), Context: "", State: Pending},
		{SHA: sha(1), Context: "gitopsd/plan", State: "done"},
	} {
		if _, err := c.SetStatus(ctx, st); err == nil {
			t.Errorf("SetStatus(%+v) accepted", st)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent for bad statuses", n)
	}
}
