package web_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// TestPlanPageFollowsAPullRequest runs the daemon with plan checks on
// githubtest: the status the pull request gets links to the plan's page,
// which shows the whole plan (what the comment shows, without its cut)
// and none of the Secret's data; the fleet lists the pull request.
func TestPlanPageFollowsAPullRequest(t *testing.T) {
	ns := env.Namespace(t)
	shop := "shop-" + ns[strings.LastIndex(ns, "-")+1:]
	const secretInPR = "pr-password-value"
	repo := newGitRepo(t, map[string]string{
		"gitopsd.yaml":            fmt.Sprintf("installations:\n  - name: %s\n    path: shop\n    namespace: %s\n", shop, ns),
		"shop/kustomization.yaml": "resources: [settings.yaml, old.yaml]\n",
		"shop/settings.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: live\n",
		"shop/old.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\ndata:\n  a: b\n",
	})
	main := git(t, repo.work, "rev-parse", "HEAD")
	gh := githubtest.NewServer(githubtest.Options{})
	t.Cleanup(gh.Close)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte(gh.Token()), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, repo.url, "--github-token-file", token, "--github-api-url", gh.URL, "--github-repository", gh.Repository())
	d.waitStatus(60*time.Second, "shop applied", func(s web.Status) bool {
		in, ok := s.Installation(shop)
		return ok && in.Phase == reconcile.Ready && s.PullRequests != nil
	})
	d.waitPage(5*time.Second, "/", `<section class="card" id="pull-requests">`, "No open pull requests")

	head := repo.pullRequest(1, "probes", map[string]string{
		"shop/kustomization.yaml": "resources: [settings.yaml, db.yaml]\n",
		"shop/settings.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: maintenance\n",
		"shop/db.yaml":            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + secretInPR + "\n",
	})
	if _, err := gh.OpenPR(githubtest.PR{Number: 1, Title: "Maintenance mode", HeadRef: "probes", HeadSHA: head, BaseRef: "main", BaseSHA: main}); err != nil {
		t.Fatal(err)
	}
	// The daemon's poll of open pull requests finds it.
	var target string
	if err := daemontest.Poll(60*time.Second, func() bool {
		list := gh.Statuses(head)
		if len(list) == 0 || list[len(list)-1].GetState() == "pending" {
			return false
		}
		target = list[len(list)-1].GetTargetURL()
		return true
	}); err != nil {
		t.Fatalf("no final status on the head: %v", gh.Statuses(head))
	}
	if want := d.url + "/plans/1"; target != want {
		t.Fatalf("the status links to %q, want the plan's page %q", target, want)
	}
	page := d.waitPage(10*time.Second, "/plans/1",
		`data-state="success"`, "#1 Maintenance mode",
		fmt.Sprintf(`title="%s">%s</code>`, head, head[:7]),
		"<strong>1 to create, 1 to change, 1 to delete, 0 unchanged</strong>",
		fmt.Sprintf(`data-object="ConfigMap/%s/settings"`, ns),
		fmt.Sprintf(`data-object="Secret/%s/db"`, ns),
		fmt.Sprintf(`data-object="ConfigMap/%s/old"`, ns),
		`<span class="del">-  mode: live</span>`, `<span class="add">&#43;  mode: maintenance</span>`,
		"Secret keys: <code>password</code> added",
		`<span class="badge verb-delete">delete</span>`)

	// Every object of the comment is on the page.
	comments := gh.Comments(1)
	if len(comments) != 1 {
		t.Fatalf("%d comments on the pull request, want 1", len(comments))
	}
	for _, key := range []string{"ConfigMap/" + ns + "/settings", "Secret/" + ns + "/db", "ConfigMap/" + ns + "/old"} {
		if !strings.Contains(comments[0].GetBody(), "<code>"+key+"</code>") {
			t.Errorf("the comment has no %s: the test compares nothing", key)
		}
	}

	// The page and the API serve one value.
	var pull plancheck.Pull
	code, js := d.get("/api/v1/plans/1")
	if err := json.Unmarshal([]byte(js), &pull); err != nil || code != http.StatusOK || pull.Head != head || pull.Plan == nil {
		t.Fatalf("GET /api/v1/plans/1: %d %v\n%s", code, err, js)
	}
	fleet := d.waitPage(5*time.Second, "/", `<tr data-pull="1" data-state="success">`, `<a class="name" href="/plans/1">#1</a> Maintenance mode`)

	for what, body := range map[string]string{"the plan page": page, "the fleet page": fleet, "the plan's JSON": js, "the comment": comments[0].GetBody()} {
		for _, form := range []string{secretInPR, base64.StdEncoding.EncodeToString([]byte(secretInPR))} {
			if strings.Contains(body, form) {
				t.Errorf("%s shows the Secret's data %q", what, form)
			}
		}
	}
	if code, body := d.get("/plans/2"); code != http.StatusNotFound || !strings.Contains(body, "No plan of pull request #2") {
		t.Errorf("GET /plans/2: %d\n%s", code, body)
	}
}
