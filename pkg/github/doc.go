// Package github is gitopsd's side of GitHub: a client for the few REST
// calls it makes, and the webhook router.
//
// The Client (over go-github) works on one repository: it posts commit
// statuses only when they change, keeps one comment per pull request and
// key that it edits in place (found again by a hidden marker), lists and
// gets pull requests, and answers the merged-PR gate (is a commit the
// merge commit of a pull request merged into a branch). Every call waits
// out GitHub's primary and secondary rate limits and retries; writes are
// spaced; requests and the remaining quota are Prometheus metrics.
//
//	c, err := github.NewClient(opts, github.Deps{Registerer: reg, Log: log})
//	_, err = c.SetStatus(ctx, github.Status{SHA: head, Context: "gitopsd/plan", State: github.Pending})
//	_, err = c.UpsertComment(ctx, pr.Number, "plan", markdown)
//	merged, ok, err := c.MergedPullRequest(ctx, commit, "main")
//
// The Router serves POST /hooks/github: it checks the delivery's
// X-Hub-Signature-256 once, then routes by X-GitHub-Event: push wakes the
// sources that follow the pushed repository and ref, pull_request goes to a
// PullRequestHandler (plan or forget), ping is answered. It bounds the time
// and memory an unauthenticated sender can hold.
//
// Package githubtest is an in-process fake of the API for tests.
package github
