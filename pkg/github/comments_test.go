package github

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

func openPR(t *testing.T, srv *githubtest.Server, pr githubtest.PR) int {
	t.Helper()
	if pr.HeadRef == "" {
		pr.HeadRef = "change"
	}
	if pr.BaseRef == "" {
		pr.BaseRef = "main"
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = sha(100 + pr.Number)
	}
	if pr.BaseSHA == "" {
		pr.BaseSHA = sha(1)
	}
	got, err := srv.OpenPR(pr)
	if err != nil {
		t.Fatal(err)
	}
	return got.GetNumber()
}

func TestUpsertCommentEditsOneCommentInPlace(t *testing.T) {
	srv := newFake(t)
	n := openPR(t, srv, githubtest.PR{})
	c, _ := newClient(t, srv, nil)

	first, err := c.UpsertComment(ctx, n, "plan", "1 to create")
	if err != nil {
		t.Fatal(err)
	}
	// A reviewer quotes the comment, marker and all: theirs is not ours.
	if _, err := srv.AddComment(n, "reviewer", "> "+first.Body+"\nwhy?"); err != nil {
		t.Fatal(err)
	}
	posts := countRequests(srv, "POST", "/comments")
	if _, err := c.UpsertComment(ctx, n, "plan", "1 to create"); err != nil {
		t.Fatal(err)
	}
	if got := countRequests(srv, "POST", "/comments") + countRequests(srv, "PATCH", "/comments/"+itoa(first.ID)); got != posts {
		t.Fatalf("an unchanged comment was written again")
	}
	second, err := c.UpsertComment(ctx, n, "plan", "2 to create")
	if err != nil || second.ID != first.ID {
		t.Fatalf("second upsert: %+v, %v; want comment %d edited", second, err, first.ID)
	}

	// A restarted daemon finds its comment by the marker.
	restarted, _ := newClient(t, srv, nil)
	third, err := restarted.UpsertComment(ctx, n, "plan", "3 to create")
	if err != nil || third.ID != first.ID {
		t.Fatalf("upsert after restart: %+v, %v; want comment %d edited", third, err, first.ID)
	}
	found, ok, err := restarted.FindComment(ctx, n, "plan")
	if err != nil || !ok || found.ID != first.ID {
		t.Fatalf("FindComment = %+v, %v, %v", found, ok, err)
	}
	if _, ok, err := restarted.FindComment(ctx, n, "plan/staging"); err != nil || ok {
		t.Fatalf("FindComment of another cluster's key = %v, %v", ok, err)
	}

	comments := srv.Comments(n)
	if len(comments) != 2 || !strings.HasSuffix(comments[0].GetBody(), "\n3 to create") || comments[1].GetUser().GetLogin() != "reviewer" {
		t.Fatalf("comments on #%d: %v", n, comments)
	}
	if !strings.HasPrefix(comments[0].GetBody(), "<!-- gitopsd:plan -->") {
		t.Fatalf("comment lacks its marker: %q", comments[0].GetBody())
	}
}

func TestUpsertCommentPerKey(t *testing.T) {
	srv := newFake(t)
	n := openPR(t, srv, githubtest.PR{})
	c, _ := newClient(t, srv, nil)
	a, err := c.UpsertComment(ctx, n, "plan/production", "prod")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.UpsertComment(ctx, n, "plan/staging", "staging")
	if err != nil || b.ID == a.ID {
		t.Fatalf("second cluster's comment %+v, %v", b, err)
	}
	if got := len(srv.Comments(n)); got != 2 {
		t.Fatalf("%d comments, want one per cluster", got)
	}
}

// TestUpsertCommentConcurrent: pushes in quick succession race to update
// the comment; there is still one.
func TestUpsertCommentConcurrent(t *testing.T) {
	srv := newFake(t)
	n := openPR(t, srv, githubtest.PR{})
	c, _ := newClient(t, srv, nil)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := c.UpsertComment(ctx, n, "plan", "version "+itoa(int64(i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(srv.Comments(n)); got != 1 {
		t.Fatalf("%d comments after concurrent upserts, want 1", got)
	}
}

func TestUpsertCommentLimits(t *testing.T) {
	srv := newFake(t)
	n := openPR(t, srv, githubtest.PR{})
	c, _ := newClient(t, srv, nil)
	room := CommentRoom("plan")
	if _, err := c.UpsertComment(ctx, n, "plan", strings.Repeat("x", room+1)); err == nil || !strings.Contains(err.Error(), "characters") {
		t.Fatalf("too long a comment: %v", err)
	}
	if len(srv.Requests()) != 0 {
		t.Fatal("a comment too long was sent")
	}
	// The longest that fits is what GitHub takes.
	if _, err := c.UpsertComment(ctx, n, "plan", strings.Repeat("ü", room)); err != nil {
		t.Fatalf("comment of exactly CommentRoom characters: %v", err)
	}
	if _, err := c.UpsertComment(ctx, n, "bad--key", "x"); err == nil {
		t.Fatal("a key that would end the marker early was accepted")
	}
	if _, err := c.UpsertComment(ctx, 999, "plan", "x"); !IsNotFound(err) {
		t.Fatalf("comment on a missing pull request: %v, want not found", err)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
