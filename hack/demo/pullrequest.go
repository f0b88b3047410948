package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

// pullRequest opens a pull request on githubtest that changes the
// monitoring installation, shows the status and the comment gitopsd posts,
// then pushes a second commit and shows the same comment edited.
func (d *demo) pullRequest(ctx context.Context) error {
	step("A pull request: a longer probe timeout and probe credentials in a Secret, planned before anyone merges it")
	blackbox := filepath.Join(d.fleet, "monitoring/blackbox.yaml")
	data, err := os.ReadFile(blackbox)
	if err != nil {
		return err
	}
	first, err := d.prCommit("probes", "monitoring: 10s probe timeout, probe credentials", map[string]string{
		"monitoring/blackbox.yaml":          strings.Replace(string(data), "timeout: 5s", "timeout: 10s", 1),
		"monitoring/probe-credentials.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: probe-credentials\nstringData:\n  password: not-in-the-comment\n",
	})
	if err != nil {
		return err
	}
	main, err := d.output("git", "rev-parse", "main")
	if err != nil {
		return err
	}
	pr, err := d.github.OpenPR(githubtest.PR{Number: prNumber, Title: "Longer probe timeout", HeadRef: "probes", HeadSHA: first, BaseRef: "main", BaseSHA: main})
	if err != nil {
		return err
	}
	fmt.Printf("opened pull request #%d at %s (refs/pull/%d/head)\n", pr.GetNumber(), first[:12], pr.GetNumber())
	start := time.Now()
	if err := d.pullRequestWebhook("opened", pr.GetNumber()); err != nil {
		return err
	}
	if err := d.showCheck(ctx, pr.GetNumber(), first, start); err != nil {
		return err
	}

	step("A second commit pushed to the pull request: a new status on the new head, the same comment edited")
	second, err := d.prCommit("probes", "monitoring: 2 blackbox replicas", map[string]string{
		"monitoring/blackbox.yaml": strings.Replace(strings.Replace(string(data), "timeout: 5s", "timeout: 10s", 1), "replicas: 1", "replicas: 2", 1),
	})
	if err != nil {
		return err
	}
	if err := d.github.PushHead(pr.GetNumber(), second); err != nil {
		return err
	}
	start = time.Now()
	if err := d.pullRequestWebhook("synchronize", pr.GetNumber()); err != nil {
		return err
	}
	if err := d.showCheck(ctx, pr.GetNumber(), second, start); err != nil {
		return err
	}
	comments := d.github.Comments(pr.GetNumber())
	fmt.Printf("\n%d comment on the pull request (#%d, created %s, edited %s): edited in place, not posted again\n",
		len(comments), comments[0].GetID(), comments[0].GetCreatedAt().Format(time.TimeOnly), comments[0].GetUpdatedAt().Format(time.TimeOnly))
	fmt.Printf("the whole plan on the status page, where the status and the comment link: http://%s/plans/%d\n", d.addr, pr.GetNumber())
	d.show(d.gitopsd, "status", "--server", "http://"+d.addr)
	d.show(d.gitopsd, "plan", "--repo", d.repoURL, "--ref", fmt.Sprintf("refs/pull/%d/head", pr.GetNumber()), "--base", "main",
		"--kubeconfig", d.kubeconfig, "--cache-dir", filepath.Join(d.dir, "repos"))
	return nil
}

// prNumber is the demo's pull request.
const prNumber = 1

// prCommit commits files on branch (created from main), points
// refs/pull/N/head at it as GitHub does, and goes back to main.
func (d *demo) prCommit(branch, msg string, files map[string]string) (string, error) {
	from := "main"
	if d.git("rev-parse", "--verify", "-q", "refs/heads/"+branch) == nil {
		from = branch
	}
	if err := d.git("checkout", "-q", "-B", branch, from); err != nil {
		return "", err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d.fleet, name), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if err := d.commit(msg); err != nil {
		return "", err
	}
	head, err := d.output("git", "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if err := d.git("update-ref", fmt.Sprintf("refs/pull/%d/head", prNumber), head); err != nil {
		return "", err
	}
	return head, d.git("checkout", "-q", "main")
}

// pullRequestWebhook sends GitHub's pull_request delivery for the pull
// request as the fake now shows it.
func (d *demo) pullRequestWebhook(action string, number int) error {
	pr, _ := d.github.PullRequest(number)
	return d.webhook("pull_request", map[string]any{
		"action": action, "number": number, "pull_request": pr,
		"repository": map[string]any{"clone_url": d.repoURL, "full_name": d.github.Repository()},
	})
}

// showCheck waits for the final status on head and prints the statuses and
// the comment.
func (d *demo) showCheck(ctx context.Context, number int, head string, start time.Time) error {
	if err := pollFor(ctx, 60*time.Second, "the plan check's status", func() bool {
		list := d.github.Statuses(head)
		return len(list) > 0 && list[len(list)-1].GetState() != "pending"
	}); err != nil {
		return err
	}
	fmt.Printf("status posted %s after the webhook\n\ncommit statuses on %s:\n", time.Since(start).Round(time.Millisecond), head[:12])
	for _, s := range d.github.Statuses(head) {
		fmt.Printf("  %-14s %-8s %s  (%s)\n", s.GetContext(), s.GetState(), s.GetDescription(), s.GetTargetURL())
	}
	comments := d.github.Comments(number)
	if len(comments) == 0 {
		fmt.Println("\nno comment: nothing would change")
		return nil
	}
	fmt.Printf("\nthe comment on pull request #%d (Markdown, as GitHub receives it):\n\n%s\n", number, comments[0].GetBody())
	return nil
}
