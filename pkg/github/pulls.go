package github

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// PullRequest is what gitopsd needs to know of a pull request, from the
// API or from a webhook.
type PullRequest struct {
	Number int
	Title  string
	// State is open or closed.
	State  string
	Draft  bool
	Author string
	// HeadSHA is the commit to plan; HeadRef its branch, in HeadRepository
	// (OWNER/NAME; empty when the fork was deleted).
	HeadSHA        string
	HeadRef        string
	HeadRepository string
	// BaseRef is the branch it merges into, in BaseRepository.
	BaseRef        string
	BaseSHA        string
	BaseRepository string
	Merged         bool
	// MergeCommitSHA is the commit a merge made; meaningful when Merged.
	MergeCommitSHA string
	URL            string
	// UpdatedAt is when GitHub last changed the pull request (a push, an
	// edit, a comment), to the second; it orders what webhooks, which
	// GitHub does not deliver in order, and lists say of it.
	UpdatedAt time.Time
}

// Fork reports whether the head branch lives outside the base repository
// (or its repository is gone): such heads are not trusted by default.
func (p PullRequest) Fork() bool {
	return p.HeadRepository == "" || !strings.EqualFold(p.HeadRepository, p.BaseRepository)
}

func pullRequestFrom(pr *github.PullRequest) PullRequest {
	return PullRequest{
		Number:         pr.GetNumber(),
		Title:          pr.GetTitle(),
		State:          pr.GetState(),
		Draft:          pr.GetDraft(),
		Author:         pr.GetUser().GetLogin(),
		HeadSHA:        strings.ToLower(pr.GetHead().GetSHA()),
		HeadRef:        pr.GetHead().GetRef(),
		HeadRepository: pr.GetHead().GetRepo().GetFullName(),
		BaseRef:        pr.GetBase().GetRef(),
		BaseSHA:        strings.ToLower(pr.GetBase().GetSHA()),
		BaseRepository: pr.GetBase().GetRepo().GetFullName(),
		// List answers carry no "merged"; merged_at is set on both.
		Merged:         pr.GetMerged() || pr.MergedAt != nil,
		MergeCommitSHA: strings.ToLower(pr.GetMergeCommitSHA()),
		URL:            pr.GetHTMLURL(),
		UpdatedAt:      pr.GetUpdatedAt().Time,
	}
}

// OpenPullRequests lists the open pull requests into branch base, by
// number. The poll of open pull requests that catches missed webhooks
// uses it.
func (c *Client) OpenPullRequests(ctx context.Context, base string) ([]PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Base: base, ListOptions: github.ListOptions{PerPage: 100}}
	var out []PullRequest
	for {
		var list []*github.PullRequest
		var resp *github.Response
		err := c.call(ctx, "list open pull requests into "+base, false, func(ctx context.Context) (*github.Response, error) {
			var err error
			list, resp, err = c.gh.PullRequests.List(ctx, c.owner, c.repo, opts)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, pr := range list {
			out = append(out, pullRequestFrom(pr))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	slices.SortFunc(out, func(a, b PullRequest) int { return a.Number - b.Number })
	return out, nil
}

// PullRequest gets one pull request; IsNotFound(err) when there is none.
func (c *Client) PullRequest(ctx context.Context, number int) (PullRequest, error) {
	var pr *github.PullRequest
	err := c.call(ctx, fmt.Sprintf("get pull request #%d", number), false, func(ctx context.Context) (*github.Response, error) {
		var resp *github.Response
		var err error
		pr, resp, err = c.gh.PullRequests.Get(ctx, c.owner, c.repo, number)
		return resp, err
	})
	if err != nil {
		return PullRequest{}, err
	}
	return pullRequestFrom(pr), nil
}

// MergedPullRequest is the merged-PR gate: it returns the pull request
// merged into branch base whose merge commit is sha. found is false when
// there is none: a direct push, or a commit merged elsewhere. Right after a
// merge GitHub may not yet associate the commit with any pull request, so
// an empty answer is asked again every MergePoll for up to MergeWait.
func (c *Client) MergedPullRequest(ctx context.Context, sha, base string) (pr PullRequest, found bool, err error) {
	sha = strings.ToLower(sha)
	if !isSHA(sha) {
		return PullRequest{}, false, fmt.Errorf("github: merged pull request of %q: not a full commit SHA", sha)
	}
	deadline := time.Now().Add(c.opts.MergeWait)
	for {
		list, err := c.pullsWithCommit(ctx, sha)
		if err != nil {
			return PullRequest{}, false, err
		}
		for _, p := range list {
			if p.Merged && p.MergeCommitSHA == sha && p.BaseRef == base && strings.EqualFold(p.BaseRepository, c.Repository()) {
				return p, true, nil
			}
		}
		if len(list) > 0 || time.Now().Add(c.opts.MergePoll).After(deadline) {
			return PullRequest{}, false, nil
		}
		if err := sleep(ctx, c.opts.MergePoll); err != nil {
			return PullRequest{}, false, fmt.Errorf("github: merged pull request of %s: %w", logkey.ShortSHA(sha), err)
		}
	}
}

func (c *Client) pullsWithCommit(ctx context.Context, sha string) ([]PullRequest, error) {
	opts := &github.ListOptions{PerPage: 100}
	var out []PullRequest
	for {
		var list []*github.PullRequest
		var resp *github.Response
		err := c.call(ctx, "list pull requests of "+logkey.ShortSHA(sha), false, func(ctx context.Context) (*github.Response, error) {
			var err error
			list, resp, err = c.gh.PullRequests.ListPullRequestsWithCommit(ctx, c.owner, c.repo, sha, opts)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, pr := range list {
			out = append(out, pullRequestFrom(pr))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
