package github

import (
	"fmt"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

func TestOpenPullRequests(t *testing.T) {
	srv := newFake(t)
	for i := 1; i <= 130; i++ {
		pr := githubtest.PR{Number: i, HeadRef: fmt.Sprintf("change-%d", i)}
		switch {
		case i%10 == 0:
			pr.BaseRef = "release"
		case i == 7:
			pr.HeadRepository = "someone/fleet"
		}
		openPR(t, srv, pr)
	}
	if err := srv.Merge(3, sha(9003)); err != nil {
		t.Fatal(err)
	}
	if err := srv.ClosePR(4); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, srv, nil)
	prs, err := c.OpenPullRequests(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(prs) != 115 || prs[0].Number != 1 || prs[2].Number != 5 {
		t.Fatalf("%d open pull requests into main, first #%d, third #%d; want 115 from #1, #3 and #4 gone", len(prs), prs[0].Number, prs[2].Number)
	}
	for _, pr := range prs {
		if pr.BaseRef != "main" || pr.State != "open" || pr.HeadSHA != sha(100+pr.Number) {
			t.Fatalf("pull request %+v", pr)
		}
		if pr.Fork() != (pr.Number == 7) {
			t.Fatalf("#%d: Fork() = %v (head %s, base %s)", pr.Number, pr.Fork(), pr.HeadRepository, pr.BaseRepository)
		}
	}

	got, err := c.PullRequest(ctx, 3)
	if err != nil || !got.Merged || got.MergeCommitSHA != sha(9003) || got.State != "closed" {
		t.Fatalf("PullRequest(3) = %+v, %v", got, err)
	}
	if _, err := c.PullRequest(ctx, 999); !IsNotFound(err) {
		t.Fatalf("PullRequest(999) = %v, want not found", err)
	}
}

func TestMergedPullRequest(t *testing.T) {
	srv := newFake(t)
	openPR(t, srv, githubtest.PR{Number: 1})                     // merged into main below
	openPR(t, srv, githubtest.PR{Number: 2, BaseRef: "release"}) // merged into release below
	openPR(t, srv, githubtest.PR{Number: 3, HeadSHA: sha(300)})  // open
	openPR(t, srv, githubtest.PR{Number: 4, HeadSHA: sha(400)})  // merged after a delay
	for n, merge := range map[int]string{1: sha(9001), 2: sha(9002)} {
		if err := srv.Merge(n, merge); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := newClient(t, srv, nil)

	pr, ok, err := c.MergedPullRequest(ctx, sha(9001), "main")
	if err != nil || !ok || pr.Number != 1 {
		t.Fatalf("merge commit of #1 = %+v, %v, %v", pr, ok, err)
	}
	for _, tc := range []struct {
		name, sha string
		again     bool // asked again while GitHub knows no pull request
	}{
		{"merged into another branch", sha(9002), false},
		{"head of an open pull request", sha(300), false},
		{"the head (not the merge) of a merged pull request", sha(101), false},
		{"a direct push", sha(5555), true},
	} {
		before := countRequests(srv, "GET", "/pulls")
		start := time.Now()
		pr, ok, err := c.MergedPullRequest(ctx, tc.sha, "main")
		if err != nil || ok {
			t.Errorf("%s: %+v, %v, %v; want not found", tc.name, pr, ok, err)
		}
		asks, took := countRequests(srv, "GET", "/pulls")-before, time.Since(start)
		if (asks > 1) != tc.again || (tc.again && took < c.opts.MergeWait-c.opts.MergePoll) {
			t.Errorf("%s: asked %d times in %s; asked again: %v", tc.name, asks, took.Round(time.Millisecond), tc.again)
		}
	}

	// Right after a merge GitHub answers empty for a moment.
	srv.HideAssociations(3)
	if err := srv.Merge(4, sha(9004)); err != nil {
		t.Fatal(err)
	}
	pr, ok, err = c.MergedPullRequest(ctx, sha(9004), "main")
	if err != nil || !ok || pr.Number != 4 {
		t.Fatalf("fresh merge = %+v, %v, %v; want #4 after the association shows", pr, ok, err)
	}
	if _, _, err := c.MergedPullRequest(ctx, "main", "main"); err == nil {
		t.Fatal("a branch name was taken for a commit")
	}
}
