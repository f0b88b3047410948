package githubtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
)

// PR describes a pull request to open on the fake.
type PR struct {
	// Number; zero takes the next free one.
	Number  int
	Title   string
	HeadRef string
	HeadSHA string
	BaseRef string
	BaseSHA string
	// HeadRepository is the OWNER/NAME the head branch lives in; empty is
	// the served repository, anything else makes the pull request a fork's.
	HeadRepository string
	Draft          bool
	// Author is the login of whoever opened it; default "octocat".
	Author string
}

// OpenPR opens a pull request and returns it as the API shows it.
func (s *Server) OpenPR(in PR) (*github.PullRequest, error) {
	if !isSHA(in.HeadSHA) || !isSHA(in.BaseSHA) {
		return nil, fmt.Errorf("open pull request: head SHA %q and base SHA %q must be full lowercase SHAs", in.HeadSHA, in.BaseSHA)
	}
	if in.HeadRef == "" || in.BaseRef == "" {
		return nil, errors.New("open pull request: head and base refs are required")
	}
	if in.HeadRepository == "" {
		in.HeadRepository = s.opts.Repository
	}
	if in.Author == "" {
		in.Author = "octocat"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Number == 0 {
		in.Number = 1
		for s.pulls[in.Number] != nil {
			in.Number++
		}
	}
	if s.pulls[in.Number] != nil {
		return nil, fmt.Errorf("open pull request: #%d exists", in.Number)
	}
	s.nextID++
	now := &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
	author := &github.User{Login: github.String(in.Author), ID: github.Int64(1000 + s.nextID), Type: github.String("User")}
	title := in.Title
	if title == "" {
		title = "Change " + in.HeadRef
	}
	pr := &github.PullRequest{
		ID:        github.Int64(s.nextID),
		Number:    github.Int(in.Number),
		State:     github.String("open"),
		Title:     github.String(title),
		Draft:     github.Bool(in.Draft),
		Merged:    github.Bool(false),
		User:      author,
		CreatedAt: now,
		UpdatedAt: now,
		URL:       github.String(s.apiURL("repos/%s/pulls/%d", s.opts.Repository, in.Number)),
		HTMLURL:   github.String(fmt.Sprintf("https://github.com/%s/pull/%d", s.opts.Repository, in.Number)),
		Head:      s.branch(in.HeadRepository, in.HeadRef, in.HeadSHA),
		Base:      s.branch(s.opts.Repository, in.BaseRef, in.BaseSHA),
	}
	s.pulls[in.Number] = &pull{pr: pr, heads: []string{in.HeadSHA}}
	return clone(pr), nil
}

func (s *Server) branch(repo, ref, sha string) *github.PullRequestBranch {
	owner, name, _ := strings.Cut(repo, "/")
	u := &github.User{Login: github.String(owner), Type: github.String("User")}
	return &github.PullRequestBranch{
		Label: github.String(owner + ":" + ref),
		Ref:   github.String(ref),
		SHA:   github.String(sha),
		User:  u,
		Repo: &github.Repository{
			Name:     github.String(name),
			FullName: github.String(repo),
			Owner:    u,
			Fork:     github.Bool(!strings.EqualFold(repo, s.opts.Repository)),
			HTMLURL:  github.String("https://github.com/" + repo),
			CloneURL: github.String("https://github.com/" + repo + ".git"),
		},
	}
}

// PushHead moves an open pull request's head to sha, as a push to its
// branch does.
func (s *Server) PushHead(number int, sha string) error {
	if !isSHA(sha) {
		return fmt.Errorf("push to #%d: %q is not a full lowercase SHA", number, sha)
	}
	return s.update(number, func(p *pull, now *github.Timestamp) error {
		if p.pr.GetState() != "open" {
			return fmt.Errorf("push to #%d: it is %s", number, p.pr.GetState())
		}
		p.pr.Head.SHA = github.String(sha)
		p.heads = append(p.heads, sha)
		return nil
	})
}

// Merge merges an open pull request with the given merge commit.
func (s *Server) Merge(number int, mergeCommitSHA string) error {
	if !isSHA(mergeCommitSHA) {
		return fmt.Errorf("merge #%d: %q is not a full lowercase SHA", number, mergeCommitSHA)
	}
	return s.update(number, func(p *pull, now *github.Timestamp) error {
		if p.pr.GetState() != "open" {
			return fmt.Errorf("merge #%d: it is %s", number, p.pr.GetState())
		}
		p.pr.State, p.pr.Merged, p.pr.MergeCommitSHA = github.String("closed"), github.Bool(true), github.String(mergeCommitSHA)
		p.pr.MergedAt, p.pr.ClosedAt = now, now
		p.pr.MergedBy = &github.User{Login: p.pr.GetUser().Login, Type: github.String("User")}
		return nil
	})
}

// ClosePR closes an open pull request without merging it.
func (s *Server) ClosePR(number int) error {
	return s.update(number, func(p *pull, now *github.Timestamp) error {
		if p.pr.GetState() != "open" {
			return fmt.Errorf("close #%d: it is %s", number, p.pr.GetState())
		}
		p.pr.State, p.pr.ClosedAt = github.String("closed"), now
		return nil
	})
}

// update changes a pull request on a copy, so that what readers were given
// never changes under them.
func (s *Server) update(number int, change func(*pull, *github.Timestamp) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pulls[number]
	if p == nil {
		return fmt.Errorf("pull request #%d does not exist", number)
	}
	next := &pull{pr: clone(p.pr), heads: slices.Clone(p.heads)}
	now := &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
	if err := change(next, now); err != nil {
		return err
	}
	next.pr.UpdatedAt = now
	s.pulls[number] = next
	return nil
}

// PullRequest returns pull request number as GET /pulls/{number} shows it.
func (s *Server) PullRequest(number int) (*github.PullRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pulls[number]
	if p == nil {
		return nil, false
	}
	return clone(p.pr), true
}

// HideAssociations makes the next n answers of commits/{sha}/pulls empty,
// as GitHub's are for a moment after a merge.
func (s *Server) HideAssociations(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hideAssociations += n
}

// listPulls is GET /repos/{owner}/{repo}/pulls, filtered by state (open by
// default, closed, all), base and head ("owner:ref"), newest first unless
// direction=asc.
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		validationFailed(w, "PullRequest", "state", fmt.Sprintf("state %q is not one of open, closed, all", state))
		return
	}
	base, head := q.Get("base"), q.Get("head")
	out := s.selectPulls(func(p *pull) bool {
		return (state == "all" || p.pr.GetState() == state) &&
			(base == "" || p.pr.GetBase().GetRef() == base) &&
			(head == "" || strings.EqualFold(p.pr.GetHead().GetLabel(), head))
	})
	if q.Get("direction") == "asc" {
		slices.Reverse(out)
	}
	for _, pr := range out {
		pr.Merged = nil // the list's "simple" pull requests carry no merged field
	}
	writeJSON(w, http.StatusOK, page(w, r, out))
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	pr, ok := s.PullRequest(n)
	if err != nil || !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, pr)
}

// pullsWithCommit is GET /repos/{owner}/{repo}/commits/{sha}/pulls: the
// merged pull request whose merge commit sha is, and the pull requests sha
// was ever the head of.
func (s *Server) pullsWithCommit(w http.ResponseWriter, r *http.Request) {
	sha := strings.ToLower(r.PathValue("sha"))
	s.mu.Lock()
	hide := s.hideAssociations > 0
	if hide {
		s.hideAssociations--
	}
	s.mu.Unlock()
	if hide {
		writeJSON(w, http.StatusOK, []*github.PullRequest{})
		return
	}
	out := s.selectPulls(func(p *pull) bool {
		return (p.pr.GetMerged() && p.pr.GetMergeCommitSHA() == sha) || slices.Contains(p.heads, sha)
	})
	for _, pr := range out {
		pr.Merged = nil
	}
	writeJSON(w, http.StatusOK, page(w, r, out))
}

// selectPulls returns copies of the pull requests keep accepts, newest first.
func (s *Server) selectPulls(keep func(*pull) bool) []*github.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*github.PullRequest{}
	for _, p := range s.pulls {
		if keep(p) {
			out = append(out, clone(p.pr))
		}
	}
	slices.SortFunc(out, func(a, b *github.PullRequest) int { return b.GetNumber() - a.GetNumber() })
	return out
}

// clone deep-copies an API value through its JSON form, the form clients
// see anyway.
func clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("githubtest: marshal %T: %v", v, err))
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("githubtest: unmarshal %T: %v", v, err))
	}
	return out
}
