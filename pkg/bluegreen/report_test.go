package bluegreen_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// reporting starts a GitHub reporter for the fleet's fake, as the daemon
// does with --cluster-name test.
func reporting(t *testing.T, f *fleet) *bluegreen.GitHubReporter {
	t.Helper()
	opts := bluegreen.DefaultReporterOptions()
	opts.Cluster, opts.ExternalURL = "test", "http://gitopsd.example"
	rep, err := bluegreen.NewGitHubReporter(githubClient(t, f.gh), slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = rep.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return rep
}

// cutoverStatus is the last gitopsd/cutover/test status of sha.
func cutoverStatus(gh *githubtest.Server, sha string) (state, description, url string) {
	for _, s := range gh.Statuses(sha) {
		if s.GetContext() == "gitopsd/cutover/test" {
			state, description, url = s.GetState(), s.GetDescription(), s.GetTargetURL()
		}
	}
	return state, description, url
}

// cutoverComments are the bodies of the comments on pull request number.
func cutoverComments(gh *githubtest.Server, number int) []string {
	var out []string
	for _, c := range gh.Comments(number) {
		out = append(out, c.GetBody())
	}
	return out
}

// TestOutcomesAreReportedOnGitHub cuts over a merged pull request and
// rolls it back, then aborts the next one on its failing Job, then holds a
// direct push: each commit gets its gitopsd/cutover/test status (success,
// then failure; failure; pending with the reason), and each pull request
// one comment with the timeline, edited in place.
func TestOutcomesAreReportedOnGitHub(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{reporter: reporting(t, f)})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	good, pr := f.merge(app{Image: "example/web:2"}, "web 2")
	d.waitFor(60*time.Second, "the switch", settled(good, bluegreen.StepKeep))
	daemontest.Eventually(t, 30*time.Second, "the success status and the comment", func() bool {
		state, _, _ := cutoverStatus(f.gh, good)
		comments := cutoverComments(f.gh, pr)
		return state == "success" && len(comments) == 1 && strings.Contains(comments[0], "| Keep |")
	})
	state, desc, url := cutoverStatus(f.gh, good)
	if !strings.Contains(desc, "web: switched to green") || url != "http://gitopsd.example/installations/web" {
		t.Errorf("status %s %q -> %s", state, desc, url)
	}
	states := map[string]bool{}
	for _, s := range f.gh.Statuses(good) {
		states[s.GetState()] = true
	}
	if !states["pending"] {
		t.Errorf("no pending status while the cutover ran: %v", states)
	}
	comment := cutoverComments(f.gh, pr)[0]
	for _, want := range []string{"gitopsd cutover of `web` on test", "**Switched**", "| Rollout |", "merged by pull request #1",
		"pre-cutover Job web-migrate-1 completed", "switched Service(s) web to green; web-blue kept until 2026-11-23T13:00:00Z"} {
		if !strings.Contains(comment, want) {
			t.Errorf("comment lacks %q:\n%s", want, comment)
		}
	}

	if _, err := d.r.Rollback(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	daemontest.Eventually(t, 30*time.Second, "the rolled back commit's failure status and comment", func() bool {
		state, desc, _ := cutoverStatus(f.gh, good)
		comments := cutoverComments(f.gh, pr)
		return state == "failure" && strings.Contains(desc, "web: rolled back by gitopsd rollback") &&
			len(comments) == 1 && strings.Contains(comments[0], "**RolledBack**")
	})

	bad, badPR := f.merge(app{Image: "example/web:3", JobFails: true}, "web 3, failing migration")
	d.waitFor(60*time.Second, "the abort", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Failed && step(bad, bluegreen.StepAborted)(in)
	})
	daemontest.Eventually(t, 30*time.Second, "the failure status and comment", func() bool {
		state, desc, _ := cutoverStatus(f.gh, bad)
		comments := cutoverComments(f.gh, badPR)
		return state == "failure" && strings.Contains(desc, "pre-cutover Job web-migrate-2 failed") &&
			len(comments) == 1 && strings.Contains(comments[0], "**Aborted**")
	})

	pushed := f.push(app{Image: "example/web:4"}, "web 4, pushed")
	d.waitFor(30*time.Second, "the hold", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Held && step(pushed, bluegreen.StepGate)(in)
	})
	daemontest.Eventually(t, 30*time.Second, "the pending status of the held commit", func() bool {
		state, desc, _ := cutoverStatus(f.gh, pushed)
		return state == "pending" && strings.Contains(desc, "is not from a merged pull request")
	})
	if n := len(cutoverComments(f.gh, pr)); n != 1 {
		t.Errorf("%d comments on #%d after the later cutovers, want its one", n, pr)
	}
}
