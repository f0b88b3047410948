package app

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/gittest"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
)

// servedFleet is a repository served by git http-backend whose installation
// NAME (named after the test's namespace) holds a ConfigMap.
type servedFleet struct {
	t    *testing.T
	repo *gittest.Repo
	url  string
	ns   string
	main string
}

func newServedFleet(t *testing.T) *servedFleet {
	t.Helper()
	root := t.TempDir()
	srv, err := gittest.NewServer(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	repo, err := gittest.NewRepo(root, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	f := &servedFleet{t: t, repo: repo, url: srv.URL + "/fleet.git", ns: env.Namespace(t)}
	f.main = f.commit("main", map[string]string{
		"gitopsd.yaml": "installations:\n  - name: NS\n    path: web\n    namespace: NS\n",
		"web/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {k: v1}\n",
	})
	return f
}

// commit commits files ("NS" is the namespace) on branch.
func (f *servedFleet) commit(branch string, files map[string]string) string {
	f.t.Helper()
	for name, data := range files {
		files[name] = strings.ReplaceAll(data, "NS", f.ns)
	}
	sha, err := f.repo.Commit(branch, "change "+branch, files)
	if err != nil {
		f.t.Fatal(err)
	}
	return sha
}

// TestPlanCommand plans a pull request's head, fetched as refs/pull/1/head,
// against main: exit 1 for changes, the Markdown a check would post, JSON
// that decodes to the plan, and 2 for a broken head.
func TestPlanCommand(t *testing.T) {
	f := newServedFleet(t)
	cache := t.TempDir()
	if out, stderr, code := gitopsd(t, "apply", "--repo", f.url, "--cache-dir", cache, "--kubeconfig", env.Kubeconfig); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, stderr)
	}
	head := f.commit("change", map[string]string{"web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {k: v2}\n"})
	if err := f.repo.SetRef("refs/pull/1/head", head); err != nil {
		t.Fatal(err)
	}
	args := []string{"plan", "--repo", f.url, "--ref", "refs/pull/1/head", "--base", "main", "--cache-dir", cache, "--kubeconfig", env.Kubeconfig}

	out, stderr, code := gitopsd(t, append(args, "-o", "markdown")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (changes)\n%s%s", code, out, stderr)
	}
	for _, part := range []string{
		"📝 **0 to create, 1 to change, 0 to delete, 0 unchanged** at `" + head[:12] + "`, against `" + f.main[:12] + "`.",
		"<summary>✏️ change <code>ConfigMap/" + f.ns + "/settings</code></summary>",
		"-  k: v1\n+  k: v2\n",
	} {
		if !strings.Contains(out, part) {
			t.Errorf("the Markdown has no %q:\n%s", part, out)
		}
	}

	out, _, code = gitopsd(t, append(args, "-o", "json")...)
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 1 {
		t.Fatalf("-o json: exit %d, %v\n%s", code, err, out)
	}
	if p.Commit != head || p.Base != f.main || p.Ref != "refs/pull/1/head" || len(p.Installations) != 1 {
		t.Errorf("-o json: %+v", p)
	}

	// The branch itself, by name, plans alike; nothing changes at main.
	if out, _, code := gitopsd(t, "plan", "--repo", f.url, "--ref", "change", "--cache-dir", cache, "--kubeconfig", env.Kubeconfig); code != 1 || !strings.Contains(out, "would be changed") {
		t.Errorf("--ref change: exit %d\n%s", code, out)
	}
	if out, _, code := gitopsd(t, "plan", "--repo", f.url, "--ref", "main", "--base", "main", "--cache-dir", cache, "--kubeconfig", env.Kubeconfig); code != 0 {
		t.Errorf("main against main: exit %d\n%s", code, out)
	}

	broken := f.commit("broken", map[string]string{"web/kustomization.yaml": "resources: [missing.yaml]\n"})
	if err := f.repo.SetRef("refs/pull/2/head", broken); err != nil {
		t.Fatal(err)
	}
	args[4] = "refs/pull/2/head"
	if _, stderr, code := gitopsd(t, args...); code != 2 || !strings.Contains(stderr, "render error in web/kustomization.yaml") {
		t.Errorf("broken head: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := gitopsd(t, "plan", "--dir", t.TempDir(), "--base", "main"); code != 2 || !strings.Contains(stderr, "--base") {
		t.Errorf("--base with --dir: exit %d, %q", code, stderr)
	}
}

// TestDaemonPlansPullRequests runs the daemon with a GitHub token against
// githubtest: a pull request webhook gets a status in the cluster's own
// context, linked to the daemon's plan, which /api/v1/plans and gitopsd
// status show. A fork's pull request, planned with --plan-fork-prs, may
// use neither Helm nor remote bases though the daemon's own renders may.
func TestDaemonPlansPullRequests(t *testing.T) {
	f := newServedFleet(t)
	gh := githubtest.NewServer(githubtest.Options{})
	defer gh.Close()
	dir := t.TempDir()
	write(t, dir, "token", gh.Token()+"\n")
	write(t, dir, "secret", "s3cret\n")
	d := startDaemon(t, "--repo", f.url, "--interval", "1h", "--cache-dir", filepath.Join(dir, "cache"),
		"--webhook-secret-file", filepath.Join(dir, "secret"),
		"--github-token-file", filepath.Join(dir, "token"), "--github-api-url", gh.URL, "--github-repository", gh.Repository(),
		"--cluster-name", "test", "--external-url", "https://gitopsd.example.com/",
		"--plan-fork-prs", "--enable-helm", "--allow-remote-bases")
	d.waitFor(60*time.Second, "the initial sync", allAt(f.main))

	head := f.commit("change", map[string]string{"web/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"})
	if err := f.repo.SetRef("refs/pull/1/head", head); err != nil {
		t.Fatal(err)
	}
	pr, err := gh.OpenPR(githubtest.PR{HeadRef: "change", HeadSHA: head, BaseRef: "main", BaseSHA: f.main})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d.pullRequest(f.url, "opened", pr)
	var final string
	if err := pollUntil(30*time.Second, func() bool {
		list := gh.Statuses(head)
		if len(list) > 0 && list[len(list)-1].GetState() != "pending" {
			final = list[len(list)-1].GetState() + " " + list[len(list)-1].GetContext() + " " + list[len(list)-1].GetDescription() + " " + list[len(list)-1].GetTargetURL()
			return true
		}
		return false
	}); err != nil {
		t.Fatalf("no status on the head: %v", gh.Statuses(head))
	}
	t.Logf("pull request webhook to status: %s", time.Since(start).Round(time.Millisecond))
	if want := "success gitopsd/plan/test 1 to create, 0 to change, 0 to delete https://gitopsd.example.com/plans/1"; final != want {
		t.Errorf("status %q, want %q", final, want)
	}
	if cs := gh.Comments(1); len(cs) != 1 || !strings.HasPrefix(cs[0].GetBody(), "<!-- gitopsd:plan/test -->\n### gitopsd plan · cluster test\n") {
		t.Errorf("comments: %d", len(cs))
	}

	var one plancheck.Pull
	getJSON(t, "http://"+d.addr+"/api/v1/plans/1", &one)
	if one.Head != head || one.State != plancheck.Success || one.Plan == nil || len(one.Plan.Installations) != 1 {
		t.Errorf("GET /api/v1/plans/1: %+v", one)
	}
	if res, err := http.Get("http://" + d.addr + "/api/v1/plans/3"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/v1/plans/3: %v %v", res.Status, err)
	}

	fork := f.commit("fork", map[string]string{
		"gitopsd.yaml":              "installations:\n  - name: NS\n    path: web\n    namespace: NS\n  - name: NS-remote\n    path: remote\n    namespace: NS\n",
		"web/kustomization.yaml":    "resources: [cm.yaml]\nhelmCharts:\n  - {name: app, repo: https://charts.example.com, version: 1.0.0}\n",
		"remote/kustomization.yaml": "resources:\n  - https://github.com/example/remote//base?ref=v1\n",
	})
	if err := f.repo.SetRef("refs/pull/2/head", fork); err != nil {
		t.Fatal(err)
	}
	pr, err = gh.OpenPR(githubtest.PR{HeadRef: "fork", HeadSHA: fork, HeadRepository: "stranger/fleet", BaseRef: "main", BaseSHA: f.main})
	if err != nil {
		t.Fatal(err)
	}
	d.pullRequest(f.url, "opened", pr)
	if err := pollUntil(30*time.Second, func() bool {
		list := gh.Statuses(fork)
		return len(list) > 0 && list[len(list)-1].GetState() != "pending"
	}); err != nil {
		t.Fatalf("no status on the fork's head: %v", gh.Statuses(fork))
	}
	if st := gh.Statuses(fork); st[len(st)-1].GetState() != "failure" || !strings.Contains(st[len(st)-1].GetDescription(), "helmCharts are not enabled") {
		t.Errorf("the fork's status: %s %q, want failure: helmCharts are not enabled", st[len(st)-1].GetState(), st[len(st)-1].GetDescription())
	}
	if cs := gh.Comments(2); len(cs) != 1 || !strings.Contains(cs[0].GetBody(), "https://github.com/example/remote//base?ref=v1&#34; is not allowed; vendor it into the repository") {
		t.Errorf("the fork's comment does not refuse the remote base:\n%v", cs)
	}
	out, _, code := gitopsd(t, "status", "--server", "http://"+d.addr)
	if code != 0 || !strings.Contains(out, "pull request plans (gitopsd/plan/test):") ||
		!strings.Contains(out, fmt.Sprintf("#1            %s  success  1 to create, 0 to change, 0 to delete", head[:12])) {
		t.Errorf("gitopsd status:\n%s", out)
	}
}

// TestPlanFlags: a token without a GitHub repository to post to is refused
// at start, naming the flag, and a bad cluster name given as a GITOPSD_*
// variable too; the plan module is a target.
func TestPlanFlags(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "token", "t\n")
	_, stderr, code := gitopsd(t, "run", "--repo", "https://git.example.com/fleet.git", "--github-token-file", filepath.Join(dir, "token"),
		"--kubeconfig", env.Kubeconfig, "--http-addr", freeAddr(t), "--cache-dir", dir)
	if code == 0 || !strings.Contains(stderr, "--github-repository") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	// The same flags as GITOPSD_* variables.
	t.Setenv("GITOPSD_GITHUB_TOKEN_FILE", filepath.Join(dir, "token"))
	t.Setenv("GITOPSD_GITHUB_REPOSITORY", "example/fleet")
	t.Setenv("GITOPSD_CLUSTER_NAME", "prod eu")
	_, stderr, code = gitopsd(t, "run", "--repo", "https://git.example.com/fleet.git",
		"--kubeconfig", env.Kubeconfig, "--http-addr", freeAddr(t), "--cache-dir", dir)
	if code == 0 || !strings.Contains(stderr, `cluster name "prod eu"`) {
		t.Errorf("from the environment: exit %d, stderr %q", code, stderr)
	}
	out, _, _ := gitopsd(t, "run", "-list-targets")
	if !strings.Contains(out, "plan        runs ") || !strings.Contains(out, "all         runs kube, server, leader, source, plan") {
		t.Errorf("targets:\n%s", out)
	}
}

// pullRequest sends a signed pull_request webhook to the daemon.
func (d *daemonProcess) pullRequest(repoURL, action string, pr any) {
	d.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"action": action, "pull_request": pr,
		"repository": map[string]any{"clone_url": repoURL, "full_name": githubtest.DefaultRepository},
	})
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.addr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		d.t.Fatalf("webhook: %s", res.Status)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, res.Status, err)
	}
}
