package githubtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
)

var ctx = context.Background()

func sha(i int) string { return fmt.Sprintf("%040x", i) }

// client is go-github pointed at the fake, as gitopsd's client is.
func client(t *testing.T, s *Server, token, base string) *github.Client {
	t.Helper()
	c := github.NewClient(nil)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func newServer(t *testing.T) (*Server, *github.Client) {
	t.Helper()
	s := NewServer(Options{})
	t.Cleanup(s.Close)
	return s, client(t, s, s.Token(), s.URL)
}

func statusOf(err error) int {
	var e *github.ErrorResponse
	if errors.As(err, &e) && e.Response != nil {
		return e.Response.StatusCode
	}
	return 0
}

func TestToken(t *testing.T) {
	s, _ := newServer(t)
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"none", "", 401},
		{"wrong", "not-the-token", 401},
	} {
		_, _, err := client(t, s, tc.token, s.URL).Users.Get(ctx, "")
		if got := statusOf(err); got != tc.want {
			t.Errorf("%s token: status %d (%v), want %d", tc.name, got, err, tc.want)
		}
	}
	// GitHub Enterprise Server serves the same API under /api/v3/.
	u, _, err := client(t, s, s.Token(), s.URL+"api/v3/").Users.Get(ctx, "")
	if err != nil || u.GetLogin() != DefaultLogin {
		t.Fatalf("GET /user under /api/v3/ = %v, %v", u, err)
	}
	if _, _, err := client(t, s, s.Token(), s.URL).Repositories.ListStatuses(ctx, "other", "repo", sha(1), nil); statusOf(err) != 404 {
		t.Fatalf("another repository: %v, want 404", err)
	}
}

func TestStatuses(t *testing.T) {
	s, c := newServer(t)
	post := func(state, ctxName, desc string) error {
		_, _, err := c.Repositories.CreateStatus(ctx, "Example", "Fleet", sha(1), &github.RepoStatus{
			State: &state, Context: &ctxName, Description: &desc, TargetURL: github.String("https://gitopsd.example/plans/1"),
		})
		return err
	}
	if err := post("pending", "gitopsd/plan", strings.Repeat("é", MaxDescription)); err != nil {
		t.Fatalf("140-character description: %v", err)
	}
	if err := post("success", "gitopsd/plan", strings.Repeat("x", MaxDescription+1)); statusOf(err) != 422 || !strings.Contains(err.Error(), "description") {
		t.Fatalf("141-character description: %v, want 422 naming the description", err)
	}
	if err := post("done", "gitopsd/plan", ""); statusOf(err) != 422 {
		t.Fatalf("state done: %v, want 422", err)
	}
	if err := post("success", "gitopsd/plan", "1 to change"); err != nil {
		t.Fatal(err)
	}
	if err := post("failure", "gitopsd/plan/staging", "render failed"); err != nil {
		t.Fatal(err)
	}

	list, _, err := c.Repositories.ListStatuses(ctx, "example", "fleet", sha(1), nil)
	if err != nil || len(list) != 3 || list[0].GetContext() != "gitopsd/plan/staging" || list[2].GetState() != "pending" {
		t.Fatalf("ListStatuses = %v, %v; want 3, newest first", list, err)
	}
	combined, _, err := c.Repositories.GetCombinedStatus(ctx, "example", "fleet", sha(1), nil)
	if err != nil || combined.GetState() != "failure" || combined.GetTotalCount() != 2 {
		t.Fatalf("combined = %+v, %v; want failure over 2 contexts", combined, err)
	}
	if got := s.Statuses(sha(1)); len(got) != 3 || got[1].GetDescription() != "1 to change" || got[1].GetCreator().GetLogin() != DefaultLogin {
		t.Fatalf("Statuses = %v", got)
	}
}

func TestPullRequests(t *testing.T) {
	s, c := newServer(t)
	for i := 1; i <= 120; i++ {
		base := "main"
		if i%4 == 0 {
			base = "release"
		}
		if _, err := s.OpenPR(PR{HeadRef: fmt.Sprintf("change-%d", i), HeadSHA: sha(1000 + i), BaseRef: base, BaseSHA: sha(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ClosePR(1); err != nil {
		t.Fatal(err)
	}
	var all []*github.PullRequest
	opts := &github.PullRequestListOptions{State: "open", Base: "main", ListOptions: github.ListOptions{PerPage: 50}}
	for {
		page, resp, err := c.PullRequests.List(ctx, "example", "fleet", opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 89 || all[0].GetNumber() != 119 || all[0].Merged != nil {
		t.Fatalf("open against main: %d, first #%d; want 89 newest first without merged", len(all), all[0].GetNumber())
	}

	if err := s.PushHead(2, sha(5000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(2, sha(6000)); err != nil {
		t.Fatal(err)
	}
	pr, _, err := c.PullRequests.Get(ctx, "example", "fleet", 2)
	if err != nil || !pr.GetMerged() || pr.GetMergeCommitSHA() != sha(6000) || pr.GetHead().GetSHA() != sha(5000) {
		t.Fatalf("merged PR = %v, %v", pr, err)
	}
	s.HideAssociations(1)
	for i, want := range []int{0, 1} {
		got, _, err := c.PullRequests.ListPullRequestsWithCommit(ctx, "example", "fleet", sha(6000), nil)
		if err != nil || len(got) != want {
			t.Fatalf("commits/{merge}/pulls call %d = %v, %v; want %d", i, got, err, want)
		}
	}
	// An old head is still associated with its pull request.
	if got, _, _ := c.PullRequests.ListPullRequestsWithCommit(ctx, "example", "fleet", sha(1002), nil); len(got) != 1 || got[0].GetNumber() != 2 {
		t.Fatalf("commits/{old head}/pulls = %v", got)
	}
	if _, _, err := c.PullRequests.Get(ctx, "example", "fleet", 999); statusOf(err) != 404 {
		t.Fatalf("unknown PR: %v", err)
	}
}

func TestComments(t *testing.T) {
	s, c := newServer(t)
	if _, err := s.OpenPR(PR{Number: 7, HeadRef: "x", HeadSHA: sha(2), BaseRef: "main", BaseSHA: sha(1)}); err != nil {
		t.Fatal(err)
	}
	created, _, err := c.Issues.CreateComment(ctx, "example", "fleet", 7, &github.IssueComment{Body: github.String("first")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "example", "fleet", 7, &github.IssueComment{Body: github.String(strings.Repeat("x", MaxCommentBody+1))}); statusOf(err) != 422 {
		t.Fatalf("long body: %v, want 422", err)
	}
	if _, _, err := c.Issues.EditComment(ctx, "example", "fleet", created.GetID(), &github.IssueComment{Body: github.String(strings.Repeat("ü", MaxCommentBody))}); err != nil {
		t.Fatalf("edit to 65536 characters: %v", err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "example", "fleet", 8, &github.IssueComment{Body: github.String("x")}); statusOf(err) != 404 {
		t.Fatalf("comment on unknown PR: %v", err)
	}
	list, _, err := c.Issues.ListComments(ctx, "example", "fleet", 7, nil)
	if err != nil || len(list) != 1 || list[0].GetUser().GetLogin() != DefaultLogin || !strings.HasPrefix(list[0].GetBody(), "ü") {
		t.Fatalf("ListComments = %v, %v", list, err)
	}
}

func TestRateLimits(t *testing.T) {
	s, c := newServer(t)
	s.RateLimitNext(1, PrimaryLimit(time.Minute))
	s.RateLimitNext(1, SecondaryLimit(http.StatusForbidden, 2*time.Second))
	s.RateLimitNext(1, SecondaryLimit(http.StatusTooManyRequests, time.Second))

	_, _, err := c.Users.Get(ctx, "")
	var primary *github.RateLimitError
	if !errors.As(err, &primary) || time.Until(primary.Rate.Reset.Time) < 58*time.Second {
		t.Fatalf("first answer %v, want a primary limit reset in a minute", err)
	}
	// go-github now refuses to send before the reset; a fresh client goes on.
	c = client(t, s, s.Token(), s.URL)
	_, _, err = c.Users.Get(ctx, "")
	var secondary *github.AbuseRateLimitError
	if !errors.As(err, &secondary) || secondary.RetryAfter == nil || *secondary.RetryAfter != 2*time.Second {
		t.Fatalf("second answer %v, want a secondary limit with Retry-After 2", err)
	}
	c = client(t, s, s.Token(), s.URL)
	_, resp, err := c.Users.Get(ctx, "")
	if statusOf(err) != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("third answer %v, want 429 with Retry-After 1", err)
	}
	if _, resp, err := c.Users.Get(ctx, ""); err != nil || resp.Rate.Remaining != rateLimitPerHour-4 {
		t.Fatalf("fourth answer %v, remaining %d", err, resp.Rate.Remaining)
	}
	if n := len(s.Requests()); n != 4 {
		t.Fatalf("%d requests logged, want 4", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, c := newServer(t)
	if _, err := s.OpenPR(PR{Number: 1, HeadRef: "x", HeadSHA: sha(2), BaseRef: "main", BaseSHA: sha(1)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, _, _ = c.Repositories.CreateStatus(ctx, "example", "fleet", sha(2), &github.RepoStatus{State: github.String("pending")})
			_, _, _ = c.Issues.CreateComment(ctx, "example", "fleet", 1, &github.IssueComment{Body: github.String("c")})
			_ = s.PushHead(1, sha(100+i))
			_ = s.Comments(1)
		})
	}
	wg.Wait()
	if len(s.Statuses(sha(2))) != 20 || len(s.Comments(1)) != 20 {
		t.Fatalf("%d statuses, %d comments; want 20 each", len(s.Statuses(sha(2))), len(s.Comments(1)))
	}
}
