package github_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

// A plan check's GitHub side: a status on the pull request's head and one
// comment, edited in place when the plan changes.
func ExampleClient() {
	srv := githubtest.NewServer(githubtest.Options{})
	defer srv.Close()
	head, base := fmt.Sprintf("%040x", 2), fmt.Sprintf("%040x", 1)
	pr, _ := srv.OpenPR(githubtest.PR{HeadRef: "scale-web", HeadSHA: head, BaseRef: "main", BaseSHA: base})

	dir, _ := os.MkdirTemp("", "token")
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	_ = os.WriteFile(tokenFile, []byte(srv.Token()), 0o600)

	opts := github.DefaultOptions()
	opts.APIURL, opts.Repository, opts.TokenFile = srv.URL, srv.Repository(), tokenFile
	opts.WriteSpacing = 10 * time.Millisecond
	c, err := github.NewClient(opts, github.Deps{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, st := range []github.Status{
		{SHA: head, Context: "gitopsd/plan", State: github.Pending, Description: "planning"},
		{SHA: head, Context: "gitopsd/plan", State: github.Success, Description: "0 to create, 1 to change, 0 to delete"},
		{SHA: head, Context: "gitopsd/plan", State: github.Success, Description: "0 to create, 1 to change, 0 to delete"},
	} {
		posted, _ := c.SetStatus(ctx, st)
		fmt.Println(st.State, "posted:", posted)
	}
	first, _ := c.UpsertComment(ctx, pr.GetNumber(), "plan", "Deployment/web: 1 to change")
	second, _ := c.UpsertComment(ctx, pr.GetNumber(), "plan", "Deployment/web: 1 to change (replicas 3)")
	fmt.Println("same comment:", first.ID == second.ID, "comments:", len(srv.Comments(pr.GetNumber())))
	// Output:
	// pending posted: true
	// success posted: true
	// success posted: false
	// same comment: true comments: 1
}
