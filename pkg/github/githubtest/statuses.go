package githubtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"
)

var statusStates = []string{"error", "failure", "pending", "success"}

// createStatus is POST /repos/{owner}/{repo}/statuses/{sha}. Any full SHA
// is taken as a commit of the repository: the fake holds no Git objects.
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	sha := strings.ToLower(r.PathValue("sha"))
	var in github.RepoStatus
	if !decode(w, r, &in) {
		return
	}
	switch {
	case !isSHA(sha):
		validationFailed(w, "Status", "sha", "No commit found for SHA: "+r.PathValue("sha"))
		return
	case !slices.Contains(statusStates, in.GetState()):
		validationFailed(w, "Status", "state", fmt.Sprintf("state %q is not one of %s", in.GetState(), strings.Join(statusStates, ", ")))
		return
	case utf8.RuneCountInString(in.GetDescription()) > MaxDescription:
		validationFailed(w, "Status", "description", fmt.Sprintf("description is too long (maximum is %d characters)", MaxDescription))
		return
	}
	ctx := in.GetContext()
	if ctx == "" {
		ctx = "default"
	}

	s.mu.Lock()
	n := 0
	for _, st := range s.statuses[sha] {
		if strings.EqualFold(st.GetContext(), ctx) {
			n++
		}
	}
	if n >= MaxStatusesEach {
		s.mu.Unlock()
		validationFailed(w, "Status", "context", fmt.Sprintf("this SHA and context has reached the maximum number of statuses (%d)", MaxStatusesEach))
		return
	}
	s.nextID++
	now := &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
	st := &github.RepoStatus{
		ID:          github.Int64(s.nextID),
		URL:         github.String(s.apiURL("repos/%s/statuses/%s", s.opts.Repository, sha)),
		State:       in.State,
		TargetURL:   in.TargetURL,
		Description: in.Description,
		Context:     github.String(ctx),
		Creator:     s.user(),
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	s.statuses[sha] = append(s.statuses[sha], st)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, st)
}

// listStatuses is GET /repos/{owner}/{repo}/commits/{ref}/statuses, newest first.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sha, ok := s.resolveRef(r.PathValue("ref"))
	all := slices.Clone(s.statuses[sha])
	s.mu.Unlock()
	if !ok {
		notFoundRef(w, r.PathValue("ref"))
		return
	}
	slices.Reverse(all)
	writeJSON(w, http.StatusOK, page(w, r, all))
}

// combinedStatus is GET /repos/{owner}/{repo}/commits/{ref}/status: the
// latest status of each context, and their sum: failure if any is error
// or failure, else pending if any is pending or there is none, else success.
func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sha, ok := s.resolveRef(r.PathValue("ref"))
	all := slices.Clone(s.statuses[sha])
	s.mu.Unlock()
	if !ok {
		notFoundRef(w, r.PathValue("ref"))
		return
	}
	var latest []*github.RepoStatus
	seen := map[string]bool{}
	for i := len(all) - 1; i >= 0; i-- {
		if c := strings.ToLower(all[i].GetContext()); !seen[c] {
			seen[c] = true
			latest = append(latest, all[i])
		}
	}
	state := "success"
	for _, st := range latest {
		switch st.GetState() {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
	}
	if len(latest) == 0 {
		state = "pending"
	}
	writeJSON(w, http.StatusOK, &github.CombinedStatus{
		State:         github.String(state),
		SHA:           github.String(sha),
		TotalCount:    github.Int(len(latest)),
		Statuses:      page(w, r, latest),
		CommitURL:     github.String(s.apiURL("repos/%s/commits/%s", s.opts.Repository, sha)),
		RepositoryURL: github.String(s.apiURL("repos/%s", s.opts.Repository)),
	})
}

// resolveRef turns a SHA, or the head branch of an open pull request, into
// a SHA. Callers hold s.mu.
func (s *Server) resolveRef(ref string) (string, bool) {
	if isSHA(strings.ToLower(ref)) {
		return strings.ToLower(ref), true
	}
	for _, p := range s.pulls {
		if p.pr.GetState() == "open" && p.pr.GetHead().GetRef() == ref {
			return p.pr.GetHead().GetSHA(), true
		}
	}
	return "", false
}

func notFoundRef(w http.ResponseWriter, ref string) {
	writeError(w, http.StatusNotFound, "No commit found for SHA: "+ref)
}

// Statuses returns the statuses posted for sha, oldest first.
func (s *Server) Statuses(sha string) []*github.RepoStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses[strings.ToLower(sha)])
}

func (s *Server) apiURL(format string, args ...any) string {
	return s.URL + fmt.Sprintf(format, args...)
}
