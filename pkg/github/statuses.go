package github

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// MaxDescription is GitHub's limit on a commit status description, in
// characters; SetStatus shortens longer ones.
const MaxDescription = 140

// State is a commit status state.
type State string

// The states GitHub accepts.
const (
	Pending State = "pending"
	Success State = "success"
	Failure State = "failure"
	Error   State = "error"
)

// Status is one commit status: what a context (e.g. gitopsd/plan) says
// about a commit.
type Status struct {
	SHA         string
	Context     string
	State       State
	Description string
	// TargetURL is linked from the status; may be empty.
	TargetURL string
}

func (s Status) validate() error {
	var errs []error
	if !isSHA(s.SHA) {
		errs = append(errs, fmt.Errorf("SHA %q is not a full commit SHA", s.SHA))
	}
	if s.Context == "" {
		errs = append(errs, errors.New("context is empty"))
	}
	switch s.State {
	case Pending, Success, Failure, Error:
	default:
		errs = append(errs, fmt.Errorf("state %q is not pending, success, failure or error", s.State))
	}
	return errors.Join(errs...)
}

// SetStatus posts st unless the last status of its commit and context
// already says the same (state, description and target URL), so a plan
// that is recomputed without change leaves no trace on the pull request.
// The description is cut to MaxDescription characters. posted reports
// whether a status was sent. The last status is remembered; for a commit
// not seen since start, GitHub's list of its statuses is asked once.
func (c *Client) SetStatus(ctx context.Context, st Status) (posted bool, err error) {
	st.SHA = strings.ToLower(st.SHA)
	st.Description = Shorten(st.Description, MaxDescription)
	if err := st.validate(); err != nil {
		return false, fmt.Errorf("github: status %s on %s: %w", st.Context, logkey.ShortSHA(st.SHA), err)
	}
	key := st.SHA + "\x00" + strings.ToLower(st.Context) // GitHub's contexts are case-insensitive
	unlock, err := c.serial.lock(ctx, "status\x00"+key)
	if err != nil {
		return false, fmt.Errorf("github: status %s on %s: %w", st.Context, logkey.ShortSHA(st.SHA), err)
	}
	defer unlock()

	last, known := c.statuses.get(key)
	if !known {
		if last, known, err = c.lastStatus(ctx, st); err != nil {
			return false, err
		}
	}
	if known && last.State == st.State && last.Description == st.Description && last.TargetURL == st.TargetURL {
		return false, nil
	}
	what := fmt.Sprintf("create status %s on %s", st.Context, logkey.ShortSHA(st.SHA))
	err = c.call(ctx, what, true, func(ctx context.Context) (*github.Response, error) {
		_, resp, err := c.gh.Repositories.CreateStatus(ctx, c.owner, c.repo, st.SHA, &github.RepoStatus{
			State:       github.String(string(st.State)),
			Context:     github.String(st.Context),
			Description: github.String(st.Description),
			TargetURL:   optional(st.TargetURL),
		})
		return resp, err
	})
	if err != nil {
		return false, err
	}
	c.statuses.put(key, st)
	return true, nil
}

// lastStatus is the newest status GitHub holds for st's commit and context.
// Statuses come newest first; the first page covers all but a commit that
// many systems report on.
func (c *Client) lastStatus(ctx context.Context, st Status) (Status, bool, error) {
	var list []*github.RepoStatus
	err := c.call(ctx, "list statuses of "+logkey.ShortSHA(st.SHA), false, func(ctx context.Context) (*github.Response, error) {
		var resp *github.Response
		var err error
		list, resp, err = c.gh.Repositories.ListStatuses(ctx, c.owner, c.repo, st.SHA, &github.ListOptions{PerPage: 100})
		return resp, err
	})
	if err != nil {
		return Status{}, false, err
	}
	for _, s := range list {
		if strings.EqualFold(s.GetContext(), st.Context) {
			return Status{
				SHA: st.SHA, Context: st.Context, State: State(s.GetState()),
				Description: s.GetDescription(), TargetURL: s.GetTargetURL(),
			}, true, nil
		}
	}
	return Status{}, false, nil
}

// statusCache remembers the last status posted per commit and context. It
// forgets everything past a bound: a forgotten entry costs one list call.
type statusCache struct {
	mu   sync.Mutex
	last map[string]Status
}

const statusCacheSize = 4096

func (s *statusCache) get(key string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.last[key]
	return st, ok
}

func (s *statusCache) put(key string, st Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil || len(s.last) >= statusCacheSize {
		s.last = map[string]Status{}
	}
	s.last[key] = st
}

// Shorten cuts s to at most n characters, ending it with "…" when cut.
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// isSHA reports whether s is a full commit SHA (SHA-1 or SHA-256), lowercase.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
