package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"

	"github.com/google/go-github/v57/github"
)

// pushEvent is what routing needs of a push delivery.
type pushEvent struct {
	ref  string   // full name, e.g. refs/heads/main
	repo string   // OWNER/NAME, for logs
	urls []string // the repository's clone, HTML, SSH and git URLs
}

// pullRequestEvent is what routing needs of a pull_request delivery.
type pullRequestEvent struct {
	action string
	pr     PullRequest
	urls   []string // the base repository's URLs
	// oldBase is the base branch before an "edited" that changed it.
	oldBase string
}

// parsePush reads a push payload, signed already but checked like any
// outside input.
func parsePush(payload []byte) (pushEvent, error) {
	var ev github.PushEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return pushEvent{}, fmt.Errorf("push payload: %w", err)
	}
	if ev.GetRef() == "" {
		return pushEvent{}, errors.New("push payload has no ref")
	}
	repo := ev.GetRepo()
	urls := nonEmpty(repo.GetCloneURL(), repo.GetHTMLURL(), repo.GetSSHURL(), repo.GetGitURL())
	if len(urls) == 0 {
		return pushEvent{}, errors.New("push payload names no repository")
	}
	return pushEvent{ref: ev.GetRef(), repo: repo.GetFullName(), urls: urls}, nil
}

// parsePullRequest reads a pull_request payload.
func parsePullRequest(payload []byte) (pullRequestEvent, error) {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return pullRequestEvent{}, fmt.Errorf("pull_request payload: %w", err)
	}
	if ev.GetAction() == "" {
		return pullRequestEvent{}, errors.New("pull_request payload has no action")
	}
	if ev.PullRequest == nil {
		return pullRequestEvent{}, errors.New("pull_request payload has no pull_request")
	}
	pr := pullRequestFrom(ev.PullRequest)
	if pr.Number == 0 {
		pr.Number = ev.GetNumber()
	}
	repo := ev.GetRepo()
	urls := nonEmpty(repo.GetCloneURL(), repo.GetHTMLURL(), repo.GetSSHURL(), repo.GetGitURL())
	switch {
	case pr.Number <= 0:
		return pullRequestEvent{}, fmt.Errorf("pull_request payload: number %d is not positive", pr.Number)
	case !isSHA(pr.HeadSHA):
		return pullRequestEvent{}, fmt.Errorf("pull_request payload #%d: head SHA %q is not a full commit SHA", pr.Number, truncate(pr.HeadSHA, 64))
	case pr.BaseRef == "":
		return pullRequestEvent{}, fmt.Errorf("pull_request payload #%d has no base ref", pr.Number)
	case len(urls) == 0:
		return pullRequestEvent{}, fmt.Errorf("pull_request payload #%d names no repository", pr.Number)
	}
	if pr.BaseRepository == "" {
		pr.BaseRepository = repo.GetFullName()
	}
	return pullRequestEvent{
		action:  ev.GetAction(),
		pr:      pr,
		urls:    urls,
		oldBase: ev.GetChanges().GetBase().GetRef().GetFrom(),
	}, nil
}

// payloadOf extracts the JSON from either content type GitHub sends.
func payloadOf(contentType string, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", truncate(contentType, 64), err)
	}
	switch mt {
	case "application/json":
		return body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		return []byte(form.Get("payload")), nil
	}
	return nil, fmt.Errorf("content type %q is not supported", truncate(mt, 64))
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
