package github

import (
	"fmt"
	"net/http"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// route dispatches a signed delivery by its event.
func (rt *Router) route(event, contentType string, body []byte, delivery string) reply {
	switch event {
	case "ping":
		return reply{status: http.StatusOK, Result: "pong"}
	case "push", "pull_request":
	default:
		return reply{status: http.StatusOK, Result: "ignored", Reason: fmt.Sprintf("event %q is not handled", truncate(event, 64))}
	}
	payload, err := payloadOf(contentType, body)
	if err != nil {
		return badRequest(err)
	}
	if event == "push" {
		ev, err := parsePush(payload)
		if err != nil {
			return badRequest(err)
		}
		return rt.push(ev, delivery)
	}
	ev, err := parsePullRequest(payload)
	if err != nil {
		return badRequest(err)
	}
	return rt.pullRequest(ev, delivery)
}

func badRequest(err error) reply {
	return reply{status: http.StatusBadRequest, Result: "bad_request", Reason: err.Error()}
}

// push wakes every source that follows the pushed repository and ref.
func (rt *Router) push(ev pushEvent, delivery string) reply {
	n := 0
	for _, s := range rt.deps.Sources {
		if s.Follows(ev.ref, ev.urls...) {
			s.Trigger()
			n++
		}
	}
	if n == 0 {
		return reply{status: http.StatusOK, Result: "ignored", Reason: fmt.Sprintf("push of %s to %s is not followed", truncate(ev.ref, 200), truncate(ev.repo, 200))}
	}
	rt.log.Info("push webhook triggered a poll", logkey.Event, "push", logkey.GitHubRepository, ev.repo, logkey.PushedRef, ev.ref, logkey.Delivery, delivery)
	return reply{status: http.StatusAccepted, Result: "triggered", Triggered: n}
}

// pullRequest plans or forgets a pull request into a followed branch.
func (rt *Router) pullRequest(ev pullRequestEvent, delivery string) reply {
	pr := ev.pr
	follows := rt.followsBranch(pr.BaseRef, ev.urls)
	var plan bool
	switch ev.action {
	case "opened", "synchronize", "reopened", "ready_for_review":
		plan = true
	case "edited":
		if ev.oldBase == "" {
			return reply{status: http.StatusOK, Result: "ignored", Reason: "edit leaves the base branch as it was"}
		}
		// A new base changes the plan: planned against it, or forgotten
		// when the pull request left a followed branch.
		plan = follows
		follows = follows || rt.followsBranch(ev.oldBase, ev.urls)
	case "closed":
	default:
		return reply{status: http.StatusOK, Result: "ignored", Reason: fmt.Sprintf("action %q is not handled", truncate(ev.action, 64))}
	}
	if !follows {
		return reply{status: http.StatusOK, Result: "ignored", Reason: fmt.Sprintf("pull request #%d is into %s, which is not followed", pr.Number, truncate(pr.BaseRef, 200))}
	}
	log := rt.log.With(logkey.Event, "pull_request", logkey.Action, ev.action, logkey.PullRequest, pr.Number, logkey.Delivery, delivery)
	if rt.deps.PullRequests == nil {
		log.Debug("pull request webhook dropped: pull request plans are off")
		return reply{status: http.StatusAccepted, Result: "ignored", Reason: "pull request plans are off"}
	}
	if plan {
		rt.deps.PullRequests.Plan(pr)
		log.Info("pull request webhook: plan requested", logkey.HeadCommit, pr.HeadSHA)
		return reply{status: http.StatusAccepted, Result: "planned"}
	}
	rt.deps.PullRequests.Forget(pr.Number)
	log.Info("pull request webhook: forgotten")
	return reply{status: http.StatusAccepted, Result: "forgotten"}
}

// followsBranch reports whether some source follows branch of the
// repository at urls.
func (rt *Router) followsBranch(branch string, urls []string) bool {
	for _, s := range rt.deps.Sources {
		if s.Follows("refs/heads/"+branch, urls...) {
			return true
		}
	}
	return false
}
