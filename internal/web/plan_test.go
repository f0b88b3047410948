package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
)

// samplePull is a pull request's check whose plan is too long for a
// comment: many objects, one diff over the comment's bound per object, a
// Secret, a deletion, a kept Namespace, a refusal and a render error.
func samplePull(now time.Time) plancheck.Pull {
	web := plan.Installation{Name: "web", Path: "apps/web", Reason: plan.Rerendered, Unchanged: 2,
		BlueGreen: &plan.BlueGreen{Change: "cutover", Live: "blue", From: "blue", To: "green", Message: "a cutover from blue to green would start"}}
	for i := range 300 {
		name := fmt.Sprintf("cm-%03d", i)
		web.Objects = append(web.Objects, plan.Object{Kind: "ConfigMap", Namespace: "web", Name: name, Action: plan.Change,
			Diff: fmt.Sprintf("--- live/ConfigMap/web/%s\n+++ git/ConfigMap/web/%s\n@@ -1,3 +1,3 @@\n data:\n-  k: v1\n+  k: v2\n", name, name)})
	}
	long := "--- live/ConfigMap/web/big\n+++ git/ConfigMap/web/big\n@@ -1,2000 +1,2000 @@\n" + strings.Repeat("-  line: old value\n+  line: new value\n", 1000) + "+  last: the end of a long diff\n"
	web.Objects = append(web.Objects,
		plan.Object{Kind: "ConfigMap", Namespace: "web", Name: "big", Action: plan.Change, Diff: long},
		plan.Object{Kind: "Secret", Namespace: "web", Name: "db", Action: plan.Create,
			Diff:       "--- live/Secret/web/db\n+++ git/Secret/web/db\n@@ -0,0 +1,3 @@\n+data:\n+  password: '*** (masked)'\n+kind: Secret\n",
			SecretKeys: []plan.SecretKey{{Key: "password", Change: apply.KeyAdded}}},
		plan.Object{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api", Action: plan.Refuse, Reason: `Deployment.apps/web/api: spec.replicas: Invalid value: -1: must be >= 0`},
		plan.Object{Kind: "ConfigMap", Namespace: "web", Name: "old", Action: plan.Delete},
		plan.Object{Kind: "Namespace", Name: "legacy", Action: plan.Keep, Reason: "it holds objects of installation jobs"},
	)
	broken := plan.Installation{Name: "broken", Path: "apps/broken", Reason: plan.Added,
		RenderError: &plan.FileError{File: "apps/broken/kustomization.yaml", Line: 3, Message: "accumulating resources: missing.yaml not found"}}
	started, finished := now.Add(-5*time.Second), now.Add(-2*time.Second)
	head, base := "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	pl := &plan.Plan{Repository: "https://github.com/example/fleet.git", Ref: "refs/pull/7/head", Commit: head, Base: base,
		Installations: []plan.Installation{web, broken}, Unaffected: []string{"jobs", "monitoring"}}
	s := pl.Summary()
	return plancheck.Pull{Number: 7, Title: "Bigger <web>", URL: "https://github.com/example/fleet/pull/7", Author: "alice",
		Head: head, Base: base, State: plancheck.Failure, Description: pl.Headline(), Summary: &s,
		Comment: "https://github.com/example/fleet/pull/7#issuecomment-1", Started: &started, Finished: &finished, Plan: pl}
}

func servePlans(t *testing.T, s Status, pulls ...plancheck.Pull) *httptest.Server {
	t.Helper()
	s.PullRequests = &PullRequests{Context: "gitopsd/plan"}
	for _, p := range pulls {
		p.Plan = nil
		s.PullRequests.Pulls = append(s.PullRequests.Pulls, p)
	}
	plans := func(n int) (plancheck.Pull, bool) {
		for _, p := range pulls {
			if p.Number == n {
				return p, true
			}
		}
		return plancheck.Pull{}, false
	}
	mux := http.NewServeMux()
	if err := Register(mux, Deps{Status: func() Status { return s }, Plan: plans}, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestPlanPageShowsTheWholePlan renders a plan that the comment must cut
// (it says how many objects it leaves out) whole on /plans/NUMBER, in the
// comment's order and words, with the longest diff in full.
func TestPlanPageShowsTheWholePlan(t *testing.T) {
	now := time.Now()
	pull := samplePull(now)
	comment := plan.Markdown(pull.Plan, plan.MarkdownOptions{Limit: 20000, More: "See them all on the page."})
	if !strings.Contains(comment, "objects are not shown") || strings.Contains(comment, "the end of a long diff") {
		t.Fatal("the sample plan fits in a comment: it tests nothing")
	}
	srv := servePlans(t, sampleStatus(now), pull)

	code, hdr, page := get(t, srv.URL+"/plans/7")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /plans/7: %d %s", code, hdr.Get("Content-Type"))
	}
	mustContain(t, "the plan page", page,
		"<title>(failure) #7 plan · gitopsd</title>",
		"#7 Bigger &lt;web&gt;", `data-state="failure"`, "by alice",
		`href="https://github.com/example/fleet/pull/7"`, `href="https://github.com/example/fleet/pull/7#issuecomment-1"`,
		`href="https://github.com/example/fleet/commit/1111111111111111111111111111111111111111"`,
		"<strong>1 to create, 301 to change, 1 to delete, 2 unchanged, 1 refused, 1 render error</strong>",
		`<a class="name" href="#inst-web">web</a> <span class="small muted">(rerendered)</span>`,
		`<span class="badge tone-bad">1 refused</span>`,
		`<span class="badge tone-bad">render error</span>`,
		"Not affected: <code>jobs</code>, <code>monitoring</code>.",
		"Applying this would fail:",
		"broken: render error in apps/broken/kustomization.yaml:3: accumulating resources: missing.yaml not found",
		"web: Deployment.apps/web/api refused: spec.replicas: Invalid value: -1: must be &gt;= 0",
		`Secret keys: <code>password</code> added`,
		`<span class="add">&#43;  last: the end of a long diff</span>`, // html/template escapes "+"
		`<span class="hunk">@@ -1,3 &#43;1,3 @@</span>`,
		`<span class="meta">--- live/ConfigMap/web/cm-000</span>`,
		`<span class="badge verb-delete">delete</span>`,
		`<span class="badge verb-keep">keep</span>`, "it holds objects of installation jobs",
		`<a href="/api/v1/plans/7">JSON</a>`,
		`<p class="card-note bluegreen" data-change="cutover">Blue/green: a cutover from blue to green would start</p>`,
	)
	// Every object the comment shows or leaves out has its block, in order.
	last := -1
	for _, o := range pull.Plan.Installations[0].Objects {
		if o.Action == plan.Refuse {
			continue
		}
		i := strings.Index(page, fmt.Sprintf(`data-object="%s"`, o.Key()))
		if i < 0 {
			t.Fatalf("the page has no block for %s", o.Key())
		}
		if i < last {
			t.Errorf("%s is out of the plan's order", o.Key())
		}
		last = i
	}
	if strings.Contains(page, "not shown") {
		t.Error("the page leaves objects out")
	}

	// The fleet lists the pull request, linked to its plan.
	_, _, fleet := get(t, srv.URL+"/")
	mustContain(t, "the fleet page", fleet, `<tr data-pull="7" data-state="failure">`, `<a class="name" href="/plans/7">#7</a> Bigger &lt;web&gt;`,
		"plan checks posted as <code>gitopsd/plan</code>")

	for _, path := range []string{"/plans/8", "/plans/x", "/plans/-1"} {
		code, _, body := get(t, srv.URL+path)
		if code != http.StatusNotFound || !strings.Contains(body, "No plan of pull request #") || !strings.Contains(body, "not seen yet") {
			t.Errorf("GET %s: %d\n%s", path, code, body)
		}
	}
	// A daemon without plan checks says so.
	code, _, body := get(t, serve(t, sampleStatus(now)).URL+"/plans/7")
	if code != http.StatusNotFound || !strings.Contains(body, "does not plan pull requests") {
		t.Errorf("GET /plans/7 without plan checks: %d\n%s", code, body)
	}
}

// TestPlanPageWhilePlanning shows a check under way, without a plan yet.
func TestPlanPageWhilePlanning(t *testing.T) {
	pull := plancheck.Pull{Number: 3, Head: "3333333333333333333333333333333333333333", State: plancheck.Planning}
	_, _, page := get(t, servePlans(t, sampleStatus(time.Now()), pull).URL+"/plans/3")
	mustContain(t, "the plan page", page, `data-state="planning"`, "Being planned")
}

func TestDiffLines(t *testing.T) {
	got := diffLines("--- live/x\n+++ git/x\n@@ -1,2 +1,2 @@\n a: 1\n--- b\n+++ c\n")
	want := []diffLine{{"meta", "--- live/x"}, {"meta", "+++ git/x"}, {"hunk", "@@ -1,2 +1,2 @@"}, {"ctx", " a: 1"}, {"del", "--- b"}, {"add", "+++ c"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("diffLines = %v, want %v", got, want)
	}
}
