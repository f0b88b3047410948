package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	gogithub "github.com/google/go-github/v57/github"
)

// Push is one timed push to the pull request.
type Push struct {
	// Latency is from the webhook's delivery to the final status seen on
	// githubtest.
	Latency time.Duration
	// Requests are those the API server served meanwhile.
	Requests ServerCounts
}

// measurePushes opens the pull request (its plan is not timed: it renders
// the base for the first time), then pushes to it opts.Pushes times, each
// time changing every object of the first installation.
func (b *bench) measurePushes(ctx context.Context) ([]Push, error) {
	head, err := b.push(1)
	if err != nil {
		return nil, err
	}
	pr, err := b.gh.OpenPR(githubtest.PR{HeadRef: branch, HeadSHA: head, BaseRef: "main", BaseSHA: b.main})
	if err != nil {
		return nil, err
	}
	if err := b.repo.SetRef(fmt.Sprintf("refs/pull/%d/head", pr.GetNumber()), head); err != nil {
		return nil, err
	}
	if _, err := b.planned(ctx, "opened", pr.GetNumber(), head); err != nil {
		return nil, err
	}
	var pushes []Push
	for i := 1; i <= b.opts.Pushes; i++ {
		// A team's pushes to a pull request are seconds apart at least:
		// time enough for the spacing of GitHub writes to let the next
		// check's out at once.
		select {
		case <-time.After(b.opts.Pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		head, err := b.push(i + 1)
		if err != nil {
			return nil, err
		}
		if err := b.repo.SetRef(fmt.Sprintf("refs/pull/%d/head", pr.GetNumber()), head); err != nil {
			return nil, err
		}
		if err := b.gh.PushHead(pr.GetNumber(), head); err != nil {
			return nil, err
		}
		p, err := b.planned(ctx, "synchronize", pr.GetNumber(), head)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(b.progress, "planbench: push %d: status after %s, %d reads and %d dry runs\n", i, p.Latency.Round(time.Millisecond), p.Requests.Reads, p.Requests.DryRuns)
		pushes = append(pushes, p)
	}
	return pushes, nil
}

// push commits the fleet with the first installation's objects annotated
// with i on the pull request's branch.
func (b *bench) push(i int) (string, error) {
	files, err := b.files(i)
	if err != nil {
		return "", err
	}
	return b.repo.Commit(branch, fmt.Sprintf("push %d", i), files)
}

// planned delivers the webhook and waits for the final status on head,
// which must say that every object of the first installation changes.
func (b *bench) planned(ctx context.Context, action string, number int, head string) (Push, error) {
	api := b.env.Client.Discovery().RESTClient()
	before, err := serverRequests(ctx, api)
	if err != nil {
		return Push{}, err
	}
	start := time.Now()
	if err := b.webhook(action, number); err != nil {
		return Push{}, err
	}
	var final *gogithub.RepoStatus
	err = b.poll(ctx, 2*time.Minute, "the status on "+head[:12], func() bool {
		list := b.gh.Statuses(head)
		if len(list) > 0 && list[len(list)-1].GetState() != "pending" {
			final = list[len(list)-1]
			return true
		}
		return false
	})
	took := time.Since(start)
	if err != nil {
		return Push{}, err
	}
	if want := fmt.Sprintf("0 to create, %d to change, 0 to delete", b.opts.Objects); final.GetState() != "success" || final.GetDescription() != want {
		return Push{}, fmt.Errorf("status on %s: %s %q, want success %q", head[:12], final.GetState(), final.GetDescription(), want)
	}
	after, err := serverRequests(ctx, api)
	if err != nil {
		return Push{}, err
	}
	return Push{Latency: took, Requests: after.Sub(before)}, nil
}
