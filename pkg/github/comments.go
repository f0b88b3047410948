package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"
)

// MaxCommentBody is GitHub's limit on a comment body, in characters.
const MaxCommentBody = 65536

// Comment is a pull request comment gitopsd posted.
type Comment struct {
	ID int64
	// URL is the comment on GitHub's web pages.
	URL string
	// Body as posted: the key's hidden marker, a newline, then the text.
	Body string
}

// marker is the hidden HTML comment that finds a comment again: GitHub
// renders nothing for it.
func marker(key string) string { return "<!-- gitopsd:" + key + " -->" }

// CommentRoom is how many characters of text fit in a comment under key
// once its marker is added.
func CommentRoom(key string) int {
	return MaxCommentBody - utf8.RuneCountInString(marker(key)) - 1
}

func validKey(key string) error {
	if key == "" || len(key) > 200 || strings.Contains(key, "--") || strings.ContainsAny(key, ">\r\n") {
		return fmt.Errorf("comment key %q: want a short name without \"--\", \">\" or newlines", key)
	}
	return nil
}

// UpsertComment makes the one comment keyed by key on pull request number
// say text: the comment this account posted before under that key is
// edited in place (left alone when the text is the same), or one is
// posted. Never a second one: updates of one key are serialised, and the
// comment is found by its hidden marker among the pull request's comments
// by this account, so a restart finds it too. A text over CommentRoom(key)
// characters is an error and nothing is sent.
func (c *Client) UpsertComment(ctx context.Context, number int, key, text string) (Comment, error) {
	if err := validKey(key); err != nil {
		return Comment{}, fmt.Errorf("github: comment on #%d: %w", number, err)
	}
	body := marker(key) + "\n" + text
	if n := utf8.RuneCountInString(text); n > CommentRoom(key) {
		return Comment{}, fmt.Errorf("github: comment %s on #%d: %d characters, over the %d that fit", key, number, n, CommentRoom(key))
	}
	unlock, err := c.serial.lock(ctx, fmt.Sprintf("comment\x00%d\x00%s", number, key))
	if err != nil {
		return Comment{}, fmt.Errorf("github: comment %s on #%d: %w", key, number, err)
	}
	defer unlock()

	old, found, err := c.findComment(ctx, number, key)
	if err != nil {
		return Comment{}, err
	}
	if found && old.Body == body {
		return old, nil
	}
	if found {
		edited, err := c.writeComment(ctx, number, key, old.ID, body)
		if !IsNotFound(err) {
			return edited, err
		}
		c.comments.forget(number, key) // deleted by someone: post it anew
	}
	return c.writeComment(ctx, number, key, 0, body)
}

// FindComment returns the comment keyed by key on pull request number, if
// this account posted one.
func (c *Client) FindComment(ctx context.Context, number int, key string) (Comment, bool, error) {
	if err := validKey(key); err != nil {
		return Comment{}, false, fmt.Errorf("github: comment on #%d: %w", number, err)
	}
	return c.findComment(ctx, number, key)
}

func (c *Client) findComment(ctx context.Context, number int, key string) (Comment, bool, error) {
	if cm, ok := c.comments.get(number, key); ok {
		return cm, true, nil
	}
	login, err := c.login.get(ctx, c)
	if err != nil {
		return Comment{}, false, err
	}
	mark := marker(key)
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var list []*github.IssueComment
		var resp *github.Response
		err := c.call(ctx, fmt.Sprintf("list comments of #%d", number), false, func(ctx context.Context) (*github.Response, error) {
			var err error
			list, resp, err = c.gh.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
			return resp, err
		})
		if err != nil {
			return Comment{}, false, err
		}
		for _, ic := range list {
			// Only this account's: a reviewer quoting the comment quotes
			// its marker too.
			if strings.EqualFold(ic.GetUser().GetLogin(), login) && strings.HasPrefix(ic.GetBody(), mark) {
				cm := commentFrom(ic)
				c.comments.put(number, key, cm)
				return cm, true, nil
			}
		}
		if resp.NextPage == 0 {
			return Comment{}, false, nil
		}
		opts.Page = resp.NextPage
	}
}

// writeComment posts body as a new comment on pull request number when id
// is 0, else edits comment id to say it, and remembers the result under
// key.
func (c *Client) writeComment(ctx context.Context, number int, key string, id int64, body string) (Comment, error) {
	what := fmt.Sprintf("create comment %s on #%d", key, number)
	if id != 0 {
		what = fmt.Sprintf("edit comment %s on #%d", key, number)
	}
	var ic *github.IssueComment
	err := c.call(ctx, what, true, func(ctx context.Context) (*github.Response, error) {
		var resp *github.Response
		var err error
		if id == 0 {
			ic, resp, err = c.gh.Issues.CreateComment(ctx, c.owner, c.repo, number, &github.IssueComment{Body: &body})
		} else {
			ic, resp, err = c.gh.Issues.EditComment(ctx, c.owner, c.repo, id, &github.IssueComment{Body: &body})
		}
		return resp, err
	})
	if err != nil {
		return Comment{}, err
	}
	cm := commentFrom(ic)
	c.comments.put(number, key, cm)
	return cm, nil
}

func commentFrom(ic *github.IssueComment) Comment {
	return Comment{ID: ic.GetID(), URL: ic.GetHTMLURL(), Body: ic.GetBody()}
}

// IsNotFound reports whether err is GitHub's 404: an unknown pull request,
// a deleted comment, or a repository the token cannot see.
func IsNotFound(err error) bool {
	var e *github.ErrorResponse
	return errors.As(err, &e) && e.Response != nil && e.Response.StatusCode == http.StatusNotFound
}

// commentCache remembers the comment per pull request and key, bounded
// like statusCache.
type commentCache struct {
	mu   sync.Mutex
	byPR map[string]Comment
}

func commentKey(number int, key string) string { return fmt.Sprintf("%d\x00%s", number, key) }

func (c *commentCache) get(number int, key string) (Comment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cm, ok := c.byPR[commentKey(number, key)]
	return cm, ok
}

func (c *commentCache) put(number int, key string, cm Comment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPR == nil || len(c.byPR) >= statusCacheSize {
		c.byPR = map[string]Comment{}
	}
	c.byPR[commentKey(number, key)] = cm
}

func (c *commentCache) forget(number int, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byPR, commentKey(number, key))
}

// loginCache holds the token's account, asked of GitHub once.
type loginCache struct {
	mu    sync.Mutex
	login string
}

func (l *loginCache) get(ctx context.Context, c *Client) (string, error) {
	l.mu.Lock()
	login := l.login
	l.mu.Unlock()
	if login != "" {
		return login, nil
	}
	var u *github.User
	err := c.call(ctx, "get the token's user", false, func(ctx context.Context) (*github.Response, error) {
		var resp *github.Response
		var err error
		u, resp, err = c.gh.Users.Get(ctx, "")
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if u.GetLogin() == "" {
		return "", errors.New("github: GET /user answered no login")
	}
	l.mu.Lock()
	l.login = u.GetLogin()
	l.mu.Unlock()
	return u.GetLogin(), nil
}
