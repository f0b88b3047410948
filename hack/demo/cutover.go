package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
)

// cutoverPR is the pull request that changes checkout's image.
const cutoverPR = 2

// cutover merges a pull request on githubtest that changes the image of
// checkout, a blue/green installation, and follows the cutover step by
// step; then rolls it back with gitopsd rollback.
func (d *demo) cutover(ctx context.Context) error {
	step("Blue/green: checkout runs as checkout-blue; a pull request moves it to example/checkout:1.5.0")
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", "checkout", "get", "deployments,services,jobs")
	base, err := d.output("git", "rev-parse", "main")
	if err != nil {
		return err
	}
	if err := d.git("checkout", "-q", "-b", "checkout-1.5", "main"); err != nil {
		return err
	}
	for _, name := range []string{"apps/checkout/deployment.yaml", "apps/checkout/migrate.yaml"} {
		path := filepath.Join(d.fleet, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), "example/checkout:1.4.0", "example/checkout:1.5.0")), 0o644); err != nil {
			return err
		}
	}
	if err := d.commit("checkout: 1.5.0"); err != nil {
		return err
	}
	head, err := d.output("git", "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if err := d.git("checkout", "-q", "main"); err != nil {
		return err
	}
	if err := d.git("merge", "-q", "--no-ff", "-m", "Merge pull request #2: checkout 1.5.0", "checkout-1.5"); err != nil {
		return err
	}
	merge, err := d.output("git", "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if _, err := d.github.OpenPR(githubtest.PR{Number: cutoverPR, Title: "checkout 1.5.0", HeadRef: "checkout-1.5", HeadSHA: head, BaseRef: "main", BaseSHA: base}); err != nil {
		return err
	}
	if err := d.github.Merge(cutoverPR, merge); err != nil {
		return err
	}
	fmt.Printf("pull request #%d merged on GitHub as %s; main pushed\n", cutoverPR, merge[:12])
	start := time.Now()
	if err := d.push(); err != nil {
		return err
	}
	if err := d.followCutover(ctx, merge, start); err != nil {
		return err
	}
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", "checkout", "get", "deployments,jobs")
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", "checkout", "get", "endpointslices", "-o",
		`custom-columns=SERVICE:.metadata.labels.kubernetes\.io/service-name,PODS:.endpoints[*].targetRef.name`)
	d.show(d.gitopsd, "status", "--server", "http://"+d.addr)
	fmt.Printf("the colours and the cutover's steps on the status page: http://%s/installations/checkout\n", d.addr)
	if err := d.showCutoverReport(ctx, merge); err != nil {
		return err
	}

	step("gitopsd rollback: checkout-blue is still kept at full size, so the rollback is a selector flip")
	start = time.Now()
	d.show(d.gitopsd, "rollback", "--server", "http://"+d.addr, "--api-token-file", filepath.Join(d.dir, "api-token"), "checkout")
	fmt.Printf("traffic back on blue %s after the command\n", time.Since(start).Round(time.Millisecond))
	d.show(d.kubectl, "--kubeconfig", d.kubeconfig, "-n", "checkout", "get", "service", "checkout", "-o", "jsonpath={.spec.selector}{\"\\n\"}")
	d.show(d.gitopsd, "status", "--server", "http://"+d.addr)
	return nil
}

// followCutover prints each new entry of checkout's cutover timeline as
// the status API shows it, until commit serves.
func (d *demo) followCutover(ctx context.Context, commit string, start time.Time) error {
	seen := 0
	return pollFor(ctx, 2*time.Minute, "checkout's cutover to switch", func() bool {
		bg, ok := d.checkout()
		if !ok || bg.Cutover == nil || bg.Cutover.Commit != commit {
			return false
		}
		for _, e := range bg.Cutover.Events[seen:] {
			fmt.Printf("  +%-7s %-10s %s\n", time.Since(start).Round(100*time.Millisecond), e.Step, e.Message)
		}
		seen = len(bg.Cutover.Events)
		switch bg.Cutover.Step {
		case bluegreen.StepKeep, bluegreen.StepDone:
			return true
		case bluegreen.StepAborted, bluegreen.StepSwitchedBack, bluegreen.StepRolledBack, bluegreen.StepSuperseded:
			fmt.Println("  the cutover did not switch:", bg.Cutover.Reason)
			return true
		}
		return false
	})
}

// checkout reads checkout's blue/green status from the status API.
func (d *demo) checkout() (*bluegreen.Status, bool) {
	res, err := http.Get("http://" + d.addr + "/api/v1/installations/checkout")
	if err != nil {
		return nil, false
	}
	defer res.Body.Close()
	var in struct {
		BlueGreen *bluegreen.Status `json:"blueGreen"`
	}
	if json.NewDecoder(res.Body).Decode(&in) != nil || in.BlueGreen == nil {
		return nil, false
	}
	return in.BlueGreen, true
}

// showCutoverReport prints the gitopsd/cutover status on the merge commit
// and the comment on the pull request, once the success is posted.
func (d *demo) showCutoverReport(ctx context.Context, commit string) error {
	if err := pollFor(ctx, 30*time.Second, "the cutover's success status and comment on GitHub", func() bool {
		comments := d.github.Comments(cutoverPR)
		if len(comments) == 0 || !strings.Contains(comments[0].GetBody(), "**Switched**") {
			return false
		}
		for _, s := range d.github.Statuses(commit) {
			if s.GetContext() == "gitopsd/cutover" && s.GetState() == "success" {
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	fmt.Printf("\ncommit statuses on %s:\n", commit[:12])
	for _, s := range d.github.Statuses(commit) {
		fmt.Printf("  %-16s %-8s %s\n", s.GetContext(), s.GetState(), s.GetDescription())
	}
	for _, c := range d.github.Comments(cutoverPR) {
		fmt.Printf("\nthe comment on pull request #%d:\n\n%s\n", cutoverPR, c.GetBody())
	}
	return nil
}
