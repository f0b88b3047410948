package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"
)

// listComments is GET /repos/{owner}/{repo}/issues/{number}/comments,
// oldest first.
func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	s.mu.Lock()
	_, ok := s.pulls[n]
	all := make([]*github.IssueComment, 0, len(s.comments[n]))
	for _, c := range s.comments[n] {
		all = append(all, clone(c))
	}
	s.mu.Unlock()
	if err != nil || !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, page(w, r, all))
}

// createComment is POST /repos/{owner}/{repo}/issues/{number}/comments.
func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		notFound(w)
		return
	}
	var in github.IssueComment
	if !decode(w, r, &in) || !validBody(w, in.GetBody()) {
		return
	}
	c, err := s.addComment(n, s.user(), in.GetBody())
	if err != nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// editComment is PATCH /repos/{owner}/{repo}/issues/comments/{id}.
func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		notFound(w)
		return
	}
	var in github.IssueComment
	if !decode(w, r, &in) || !validBody(w, in.GetBody()) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, list := range s.comments {
		for i, c := range list {
			if c.GetID() != id {
				continue
			}
			edited := clone(c) // readers keep the version they were given
			edited.Body = in.Body
			edited.UpdatedAt = &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
			s.comments[n][i] = edited
			writeJSON(w, http.StatusOK, edited)
			return
		}
	}
	notFound(w)
}

func validBody(w http.ResponseWriter, body string) bool {
	switch {
	case body == "":
		validationFailed(w, "IssueComment", "body", "body is missing")
		return false
	case utf8.RuneCountInString(body) > MaxCommentBody:
		validationFailed(w, "IssueComment", "body", fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentBody))
		return false
	}
	return true
}

func (s *Server) addComment(number int, author *github.User, body string) (*github.IssueComment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pulls[number] == nil {
		return nil, fmt.Errorf("pull request #%d does not exist", number)
	}
	s.nextID++
	now := &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
	c := &github.IssueComment{
		ID:        github.Int64(s.nextID),
		Body:      github.String(body),
		User:      author,
		CreatedAt: now,
		UpdatedAt: now,
		URL:       github.String(s.apiURL("repos/%s/issues/comments/%d", s.opts.Repository, s.nextID)),
		HTMLURL:   github.String(fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", s.opts.Repository, number, s.nextID)),
		IssueURL:  github.String(s.apiURL("repos/%s/issues/%d", s.opts.Repository, number)),
	}
	s.comments[number] = append(s.comments[number], c)
	return clone(c), nil
}

// AddComment posts a comment on a pull request as another user, e.g. a
// reviewer quoting gitopsd's comment.
func (s *Server) AddComment(number int, login, body string) (*github.IssueComment, error) {
	return s.addComment(number, &github.User{Login: github.String(login), Type: github.String("User")}, body)
}

// Comments returns the comments on a pull request, oldest first.
func (s *Server) Comments(number int) []*github.IssueComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*github.IssueComment, 0, len(s.comments[number]))
	for _, c := range s.comments[number] {
		out = append(out, clone(c))
	}
	return out
}
