package plancheck

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/render"
	gogithub "github.com/google/go-github/v57/github"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const fleet = `installations:
  - name: web
    path: web
    namespace: NS
  - name: db
    path: db
    namespace: NS
`

// mainFiles is the fleet at main: web has settings, an old ConfigMap and
// a Secret; db one ConfigMap.
func mainFiles() map[string]string {
	return map[string]string{
		"gitopsd.yaml":     fleet,
		"web/objects.yaml": configMap("settings", "k: v1") + configMap("old", "a: b") + secret("first-value"),
		"db/objects.yaml":  configMap("db", "a: b"),
	}
}

// TestOpenedThenSynchronized: a pull request opened gets pending, then
// success with the counts on its head; the comment names the changed
// objects and masks the Secret's values. A push to it gets a status on the
// new head and the same comment, edited. The first head's delivery,
// arriving late, plans nothing.
func TestOpenedThenSynchronized(t *testing.T) {
	f := newFixture(t, mainFiles(), nil)
	pr := f.openPR("change", map[string]string{
		"web/objects.yaml": configMap("settings", "k: v2") + configMap("old", "a: b") + configMap("new", "a: b") + secret("second-value"),
	}, nil)
	start := time.Now()
	if code := f.deliver("opened", pr, webhookSecret); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	head := pr.GetHead().GetSHA()
	st := f.waitStatus(head)
	t.Logf("webhook to status: %s", time.Since(start))
	if got := f.states(head); !slices.Equal(got, []string{"pending", "success"}) {
		t.Fatalf("states on the head: %v", got)
	}
	if st.GetDescription() != "1 to create, 2 to change, 0 to delete" || st.GetContext() != "gitopsd/plan" {
		t.Errorf("status %s: %q", st.GetContext(), st.GetDescription())
	}
	comments := f.comments(pr.GetNumber())
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	body := comments[0].GetBody()
	for _, part := range []string{
		"<!-- gitopsd:plan -->",
		"📝 **1 to create, 2 to change, 0 to delete, 1 unchanged** at `" + head[:12] + "`, against `" + f.main[:12] + "`.",
		"| `web` (rerendered) | 📝 changes | 1 | 2 | 0 | 1 |",
		"Not affected: `db`.",
		"➕ create <code>ConfigMap/" + f.ns + "/new</code>",
		"✏️ change <code>ConfigMap/" + f.ns + "/settings</code>",
		"✏️ change <code>Secret/" + f.ns + "/creds</code> · Secret keys: <code>password</code> changed",
		"-  k: v1\n+  k: v2\n",
	} {
		if !strings.Contains(body, part) {
			t.Errorf("the comment has no %q:\n%s", part, body)
		}
	}
	for _, value := range []string{"first-value", "second-value"} {
		if strings.Contains(body, value) || strings.Contains(body, base64.StdEncoding.EncodeToString([]byte(value))) {
			t.Errorf("the comment shows the Secret value %q:\n%s", value, body)
		}
	}

	opened := pr
	pr = f.push(pr.GetNumber(), map[string]string{"web/objects.yaml": configMap("settings", "k: v3") + configMap("old", "a: b") + secret("first-value")})
	if code := f.deliver("synchronize", pr, webhookSecret); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	newHead := pr.GetHead().GetSHA()
	if st := f.waitStatus(newHead); st.GetState() != "success" || st.GetDescription() != "0 to create, 1 to change, 0 to delete" {
		t.Fatalf("status on the new head: %s %q", st.GetState(), st.GetDescription())
	}
	edited := f.comments(pr.GetNumber())
	if len(edited) != 1 || edited[0].GetID() != comments[0].GetID() {
		t.Fatalf("%d comments after the push, want the first one edited", len(edited))
	}
	if b := edited[0].GetBody(); !strings.Contains(b, "at `"+newHead[:12]+"`") || !strings.Contains(b, "+  k: v3") || strings.Contains(b, "/new</code>") {
		t.Errorf("the comment does not show the new head's plan:\n%s", b)
	}
	if got := f.states(head); !slices.Equal(got, []string{"pending", "success"}) {
		t.Errorf("the old head got more statuses: %v", got)
	}

	daemontest.Eventually(t, 10*time.Second, "the status value of the new head", func() bool {
		p, ok := f.checker.Pull(pr.GetNumber())
		return ok && p.Head == newHead && p.State == Success
	})
	if p, _ := f.checker.Pull(pr.GetNumber()); p.Plan == nil || p.Plan.Commit != newHead || p.Base != f.main || p.Comment != edited[0].GetHTMLURL() ||
		p.Description != "0 to create, 1 to change, 0 to delete" || p.Summary == nil || p.Summary.Change != 1 {
		t.Errorf("status value: %+v", p)
	}

	// GitHub delivers out of order: the first head's delivery, a second
	// older than the push, comes last and is not planned.
	opened.UpdatedAt = &gogithub.Timestamp{Time: pr.GetUpdatedAt().Add(-time.Second)}
	f.deliver("synchronize", opened, webhookSecret)
	if p, _ := f.checker.Pull(pr.GetNumber()); p.Head != newHead || p.State != Success {
		t.Errorf("after a late delivery of the first head: %s %s, want the new head's success", p.Head, p.State)
	}

	// Closed: forgotten.
	if err := f.gh.ClosePR(pr.GetNumber()); err != nil {
		t.Fatal(err)
	}
	pr, _ = f.gh.PullRequest(pr.GetNumber())
	if code := f.deliver("closed", pr, webhookSecret); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	if len(f.checker.Pulls()) != 0 {
		t.Errorf("a closed pull request is still listed: %+v", f.checker.Pulls())
	}
}

// TestRemovalAndNewInstallation: an object removed is listed as a delete;
// an installation added to gitopsd.yaml lists its objects as creates.
func TestRemovalAndNewInstallation(t *testing.T) {
	f := newFixture(t, mainFiles(), nil)
	pr := f.openPR("change", map[string]string{
		"gitopsd.yaml":     fleet + "  - name: cache\n    path: cache\n    namespace: NS\n",
		"web/objects.yaml": configMap("settings", "k: v1") + secret("first-value"),
		"cache/a.yaml":     configMap("cache-1", "a: b") + configMap("cache-2", "a: b"),
	}, nil)
	f.deliver("opened", pr, webhookSecret)
	st := f.waitStatus(pr.GetHead().GetSHA())
	if st.GetState() != "success" || st.GetDescription() != "2 to create, 0 to change, 1 to delete" {
		t.Fatalf("status %s %q", st.GetState(), st.GetDescription())
	}
	body := f.comments(pr.GetNumber())[0].GetBody()
	for _, part := range []string{
		"| `web` (rerendered) | 📝 changes | 0 | 0 | 1 | 2 |",
		"| `cache` (added) | 📝 changes | 2 | 0 | 0 | 0 |",
		"- 🗑️ delete <code>ConfigMap/" + f.ns + "/old</code>",
		"➕ create <code>ConfigMap/" + f.ns + "/cache-1</code>",
		"➕ create <code>ConfigMap/" + f.ns + "/cache-2</code>",
	} {
		if !strings.Contains(body, part) {
			t.Errorf("the comment has no %q:\n%s", part, body)
		}
	}
}

// TestFailures: a broken kustomization fails naming its file; an
// immutable change fails naming the object; an installation another
// daemon applies fails naming that daemon's source.
func TestFailures(t *testing.T) {
	files := mainFiles()
	web := files["web/objects.yaml"]
	files["web/objects.yaml"] = web + configMap("frozen", "a: b") + "immutable: true\n"
	f := newFixture(t, files, nil)
	// Another daemon, following another repository, applies an
	// installation called theirs, and one that holds a ConfigMap shared.
	f.applyAs("theirs", "https://example.com/other-fleet.git@main", configMap("theirs", "a: b"))
	f.applyAs("foreign", "https://example.com/other-fleet.git@main", configMap("shared", "a: b"))

	for _, tc := range []struct {
		branch string
		files  map[string]string
		want   string
	}{
		{"broken", map[string]string{"web/objects.yaml": "", "web/kustomization.yaml": "resources: [missing.yaml]\n"},
			"web: render error in web/kustomization.yaml: "},
		{"immutable", map[string]string{"web/objects.yaml": web + configMap("frozen", "a: changed") + "immutable: true\n"},
			"web: ConfigMap/NS/frozen refused: "},
		{"theirs", map[string]string{
			"gitopsd.yaml":  fleet + "  - name: theirs\n    path: theirs\n    namespace: NS\n",
			"theirs/a.yaml": configMap("theirs", "a: changed"),
		}, "theirs: refused: installation theirs belongs to the gitopsd following //example.com/other-fleet@refs/heads/main"},
		{"shared", map[string]string{"web/objects.yaml": files["web/objects.yaml"] + configMap("shared", "a: mine")},
			"web: ConfigMap/NS/shared refused: belongs to installation foreign (of //example.com/other-fleet@refs/heads/main)"},
	} {
		t.Run(tc.branch, func(t *testing.T) {
			pr := f.openPR(tc.branch, tc.files, nil)
			f.deliver("opened", pr, webhookSecret)
			st := f.waitStatus(pr.GetHead().GetSHA())
			want := strings.ReplaceAll(tc.want, "NS", f.ns)
			if st.GetState() != "failure" || !strings.HasPrefix(st.GetDescription(), want[:min(len(want), 120)]) {
				t.Errorf("status %s %q, want failure starting %q", st.GetState(), st.GetDescription(), want)
			}
			if n := len([]rune(st.GetDescription())); n > 140 {
				t.Errorf("description of %d characters", n)
			}
			body := f.comments(pr.GetNumber())[0].GetBody()
			if !strings.Contains(body, "**Applying this would fail:**\n\n- "+want) {
				t.Errorf("the comment does not list %q:\n%s", want, body)
			}
		})
	}
}

// TestClusterUnreachable: when the cluster does not answer, the status is
// error (gitopsd could not plan), not failure, and says which
// installation was not planned.
func TestClusterUnreachable(t *testing.T) {
	f := newFixture(t, mainFiles(), func(f *fixture, _ *Options, d *Deps) {
		dead := &rest.Config{Host: "https://127.0.0.1:1", Timeout: 5 * time.Second}
		client, err := kubernetes.NewForConfig(dead)
		if err != nil {
			t.Fatal(err)
		}
		manager, err := apply.NewManager(dead, inventory.NewStore(client, f.ns), nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.New(plan.Deps{Load: loadConfig, Renderer: render.NewRenderer(render.Options{}, nil), Differ: manager})
		if err != nil {
			t.Fatal(err)
		}
		d.Planner = p
	})
	pr := f.openPR("change", map[string]string{"db/objects.yaml": configMap("db", "a: changed")}, nil)
	f.deliver("opened", pr, webhookSecret)
	st := f.waitStatus(pr.GetHead().GetSHA())
	if st.GetState() != "error" || !strings.HasPrefix(st.GetDescription(), "db: not planned: ") {
		t.Errorf("status %s %q, want error: db: not planned", st.GetState(), st.GetDescription())
	}
}

// TestSupersededHeadNeverPosted: while the first head's plan is under
// way, a push brings a second head; the first plan is cancelled and
// posts nothing after the second head's statuses and comment.
func TestSupersededHeadNeverPosted(t *testing.T) {
	var blocking *blockingPlanner
	f := newFixture(t, mainFiles(), func(_ *fixture, _ *Options, d *Deps) {
		blocking = &blockingPlanner{Planner: d.Planner, started: make(chan string, 4), release: make(chan struct{})}
		d.Planner = blocking
	})
	pr := f.openPR("change", map[string]string{"web/objects.yaml": configMap("settings", "k: first") + configMap("old", "a: b") + secret("first-value")}, nil)
	first := pr.GetHead().GetSHA()
	f.deliver("opened", pr, webhookSecret)
	if got := <-blocking.started; got != first {
		t.Fatalf("planning %s, want %s", got, first)
	}
	// The first plan is under way (held in the planner); its head is pending.
	pr = f.push(pr.GetNumber(), map[string]string{"web/objects.yaml": configMap("settings", "k: second") + configMap("old", "a: b") + secret("first-value")})
	second := pr.GetHead().GetSHA()
	f.deliver("synchronize", pr, webhookSecret)
	if got := <-blocking.started; got != second {
		t.Fatalf("planning %s, want %s", got, second)
	}
	close(blocking.release)
	if st := f.waitStatus(second); st.GetState() != "success" {
		t.Fatalf("second head: %s %q", st.GetState(), st.GetDescription())
	}
	if got := f.states(first); !slices.Equal(got, []string{"pending"}) {
		t.Errorf("the superseded head got %v, want only its pending", got)
	}
	comments := f.comments(pr.GetNumber())
	if len(comments) != 1 || !strings.Contains(comments[0].GetBody(), "+  k: second") || strings.Contains(comments[0].GetBody(), "k: first") {
		t.Errorf("comments: %d, want one with the second head's plan", len(comments))
	}
	// Nothing of the first head's plan came after the second head's first post.
	var secondStart time.Time
	for _, r := range f.gh.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/statuses/"+second) {
			secondStart = r.At
			break
		}
	}
	for _, r := range f.gh.Requests() {
		if (r.Method == http.MethodPost || r.Method == http.MethodPatch) && strings.HasSuffix(r.Path, "/statuses/"+first) && r.At.After(secondStart) {
			t.Errorf("%s %s after the second head's first status", r.Method, r.Path)
		}
	}
}

// TestClosedWhilePlanning: a pull request closed while its plan is under
// way is forgotten; the plan is cancelled and posts no final status and no
// comment.
func TestClosedWhilePlanning(t *testing.T) {
	var blocking *blockingPlanner
	f := newFixture(t, mainFiles(), func(_ *fixture, _ *Options, d *Deps) {
		blocking = &blockingPlanner{Planner: d.Planner, started: make(chan string, 4), release: make(chan struct{})}
		d.Planner = blocking
	})
	pr := f.openPR("change", map[string]string{"db/objects.yaml": configMap("db", "a: changed")}, nil)
	head := pr.GetHead().GetSHA()
	f.deliver("opened", pr, webhookSecret)
	<-blocking.started
	if err := f.gh.ClosePR(pr.GetNumber()); err != nil {
		t.Fatal(err)
	}
	pr, _ = f.gh.PullRequest(pr.GetNumber())
	if code := f.deliver("closed", pr, webhookSecret); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	daemontest.Eventually(t, 30*time.Second, "the cancelled plan to return", func() bool {
		f.checker.mu.Lock()
		defer f.checker.mu.Unlock()
		return len(f.checker.pulls) == 0
	})
	if got := f.states(head); len(got) > 1 || len(got) == 1 && got[0] != "pending" {
		t.Errorf("statuses of a pull request closed while planning: %v, want at most the pending one", got)
	}
	if n := len(f.comments(pr.GetNumber())); n != 0 {
		t.Errorf("%d comments on a pull request closed while planning", n)
	}
}

// blockingPlanner holds the first plan until release is closed, and
// reports each head it is asked to plan.
type blockingPlanner struct {
	Planner
	started chan string
	release chan struct{}
	once    sync.Once
}

func (b *blockingPlanner) Plan(ctx context.Context, req plan.Request) (*plan.Plan, error) {
	b.started <- req.Head.Commit
	first := false
	b.once.Do(func() { first = true })
	if first {
		// Held until released; the newer head cancels it first.
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Planner.Plan(ctx, req)
}

// TestFiveThousandObjects: a pull request changing 5000 objects gets one
// comment under GitHub's limit, with the summary and the number of
// objects not shown, and a status description within 140 characters.
func TestFiveThousandObjects(t *testing.T) {
	const n = 5000
	var objects strings.Builder
	for i := range n {
		objects.WriteString(configMap(fmt.Sprintf("cm-%05d", i), "k: v"))
	}
	f := newFixture(t, mainFiles(), func(_ *fixture, o *Options, _ *Deps) { o.ExternalURL = "https://gitopsd.example.com/" })
	pr := f.openPR("change", map[string]string{
		"gitopsd.yaml":     fleet + "  - name: big\n    path: big\n    namespace: NS\n",
		"big/objects.yaml": objects.String(),
	}, nil)
	start := time.Now()
	f.deliver("opened", pr, webhookSecret)
	st := f.waitStatusFor(pr.GetHead().GetSHA(), 5*time.Minute)
	t.Logf("5000 objects planned and posted in %s", time.Since(start))
	if st.GetState() != "success" || st.GetDescription() != "5000 to create, 0 to change, 0 to delete" {
		t.Fatalf("status %s %q", st.GetState(), st.GetDescription())
	}
	comments := f.comments(pr.GetNumber())
	if len(comments) != 1 {
		t.Fatalf("%d comments", len(comments))
	}
	body := comments[0].GetBody()
	if n := len([]rune(body)); n >= 65536 {
		t.Fatalf("comment of %d characters", n)
	}
	if !strings.Contains(body, "📝 **5000 to create, 0 to change, 0 to delete, 0 unchanged**") {
		t.Errorf("no summary:\n%s", body[:500])
	}
	shown := strings.Count(body, "<details>")
	if shown == 0 || !strings.Contains(body, fmt.Sprintf("**%d of 5000 objects are not shown**", n-shown)) ||
		!strings.Contains(body, "--ref refs/pull/1/head --base main`, or at https://gitopsd.example.com/plans/1.\n") {
		t.Errorf("the comment does not say how many objects are not shown (%d shown) and where to see them:\n%s", shown, body[len(body)-500:])
	}
	// Cut at an object boundary: the last block shown is whole.
	if last := body[:strings.LastIndex(body, "\n---\n")]; !strings.HasSuffix(last, "</details>\n") {
		t.Errorf("the last object is cut:\n%s", last[len(last)-300:])
	}
	if st.GetTargetURL() != "https://gitopsd.example.com/plans/1" {
		t.Errorf("the status links to %q", st.GetTargetURL())
	}
}

// TestSecondaryRateLimitWaitedOut: GitHub answers twice with a secondary
// rate limit; the status is posted once Retry-After has passed, twice.
func TestSecondaryRateLimitWaitedOut(t *testing.T) {
	f := newFixture(t, mainFiles(), nil)
	pr := f.openPR("change", map[string]string{"db/objects.yaml": configMap("db", "a: changed")}, nil)
	f.gh.RateLimitNext(2, githubtest.SecondaryLimit(http.StatusTooManyRequests, time.Second))
	start := time.Now()
	f.deliver("opened", pr, webhookSecret)
	st := f.waitStatus(pr.GetHead().GetSHA())
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("posted after %s, before two waits of a second", took)
	}
	if st.GetState() != "success" || st.GetDescription() != "0 to create, 1 to change, 0 to delete" {
		t.Errorf("status %s %q", st.GetState(), st.GetDescription())
	}
	limited := 0
	for _, r := range f.gh.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 2 {
		t.Errorf("%d answers of 429, want 2", limited)
	}
}

// TestForks: a pull request from a fork is not planned by default; with
// PlanForks it is, by the fork planner, which refuses remote bases even
// when the daemon's own renderer allows them.
func TestForks(t *testing.T) {
	fromFork := func(p *githubtest.PR) { p.HeadRepository = "stranger/fleet" }
	t.Run("default", func(t *testing.T) {
		f := newFixture(t, mainFiles(), nil)
		pr := f.openPR("fork", map[string]string{"db/objects.yaml": configMap("db", "a: changed")}, fromFork)
		if code := f.deliver("opened", pr, webhookSecret); code != http.StatusAccepted {
			t.Fatalf("webhook answered %d", code)
		}
		daemontest.Eventually(t, 30*time.Second, "the fork's pull request to be skipped", func() bool {
			p, ok := f.checker.Pull(pr.GetNumber())
			return ok && p.State == Skipped
		})
		if got := f.gh.Statuses(pr.GetHead().GetSHA()); len(got) != 0 || len(f.comments(pr.GetNumber())) != 0 {
			t.Errorf("a fork's pull request got %d statuses and %d comments", len(got), len(f.comments(pr.GetNumber())))
		}
	})
	t.Run("plan-fork-prs", func(t *testing.T) {
		f := newFixture(t, mainFiles(), func(f *fixture, o *Options, d *Deps) {
			o.PlanForks = true
			// The daemon allows remote bases; the fork planner must not.
			d.Planner = f.planner(render.Options{AllowRemote: true, AllowHelm: true})
		})
		pr := f.openPR("fork", map[string]string{
			"db/objects.yaml":       "",
			"db/kustomization.yaml": "resources:\n  - https://github.com/example/remote//base?ref=v1\n",
		}, fromFork)
		f.deliver("opened", pr, webhookSecret)
		st := f.waitStatus(pr.GetHead().GetSHA())
		if st.GetState() != "failure" || !strings.Contains(st.GetDescription(), `db: render error in db/kustomization.yaml: remote resource "https://github.com/example/remote//base?ref=v1" is not allowed`) {
			t.Errorf("status %s %q, want the remote base refused", st.GetState(), st.GetDescription())
		}
	})
}

// TestBadSignature: a delivery with a wrong signature gets 401 and
// nothing is posted.
func TestBadSignature(t *testing.T) {
	f := newFixture(t, mainFiles(), nil)
	pr := f.openPR("change", map[string]string{"db/objects.yaml": configMap("db", "a: changed")}, nil)
	if code := f.deliver("opened", pr, "not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("webhook answered %d, want 401", code)
	}
	if len(f.checker.Pulls()) != 0 {
		t.Errorf("planned: %+v", f.checker.Pulls())
	}
	for _, r := range f.gh.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s posted", r.Method, r.Path)
		}
	}
}

// TestMissedWebhookPolled: no webhook comes; the poll of open pull
// requests plans it, and plans it again when main moves.
func TestMissedWebhookPolled(t *testing.T) {
	f := newFixture(t, mainFiles(), func(_ *fixture, o *Options, _ *Deps) { o.Interval = 200 * time.Millisecond })
	pr := f.openPR("change", map[string]string{"db/objects.yaml": configMap("db", "a: changed")}, nil)
	if st := f.waitStatus(pr.GetHead().GetSHA()); st.GetState() != "success" || st.GetDescription() != "0 to create, 1 to change, 0 to delete" {
		t.Fatalf("status %s %q", st.GetState(), st.GetDescription())
	}
	// The same change lands on main and is applied: the open pull request
	// is planned again against it and changes nothing any more.
	files := mainFiles()
	files["db/objects.yaml"] = configMap("db", "a: changed")
	f.main = f.commit("main", "db changed on main", files)
	f.applyMain()
	daemontest.Eventually(t, 30*time.Second, "the plan against the new main", func() bool {
		p, ok := f.checker.Pull(pr.GetNumber())
		return ok && p.Base == f.main && p.State == Success
	})
	list := f.gh.Statuses(pr.GetHead().GetSHA())
	if last := list[len(list)-1]; last.GetDescription() != "0 to create, 0 to change, 0 to delete" {
		t.Errorf("last status %q", last.GetDescription())
	}
	if body := f.comments(pr.GetNumber())[0].GetBody(); !strings.Contains(body, "✅ **0 to create, 0 to change, 0 to delete") {
		t.Errorf("the comment does not say that nothing changes any more:\n%s", body)
	}
}

// TestNothingToChangeNoComment: a pull request that changes nothing in
// the cluster gets a status and no comment.
func TestNothingToChangeNoComment(t *testing.T) {
	f := newFixture(t, mainFiles(), nil)
	pr := f.openPR("docs", map[string]string{"README.md": "docs only\n"}, nil)
	f.deliver("opened", pr, webhookSecret)
	if st := f.waitStatus(pr.GetHead().GetSHA()); st.GetState() != "success" || st.GetDescription() != "0 to create, 0 to change, 0 to delete" {
		t.Fatalf("status %s %q", st.GetState(), st.GetDescription())
	}
	if got := f.comments(pr.GetNumber()); len(got) != 0 {
		t.Errorf("%d comments", len(got))
	}
}

// TestErrorRetriedAtNextPoll: a head that cannot be fetched yet is an
// error, gitopsd's and not the pull request's; the next poll plans it
// again and the status turns to the plan's.
func TestErrorRetriedAtNextPoll(t *testing.T) {
	f := newFixture(t, mainFiles(), func(_ *fixture, o *Options, _ *Deps) { o.Interval = 200 * time.Millisecond })
	head := f.commit("change", "change", map[string]string{"db/objects.yaml": configMap("db", "a: changed")})
	if _, err := f.gh.OpenPR(githubtest.PR{Number: 1, HeadRef: "change", HeadSHA: head, BaseRef: "main", BaseSHA: f.main}); err != nil {
		t.Fatal(err)
	}
	st := f.waitStatus(head)
	if st.GetState() != "error" || !strings.Contains(st.GetDescription(), "could not fetch the head") {
		t.Fatalf("status %s %q, want an error saying the head could not be fetched", st.GetState(), st.GetDescription())
	}
	if err := f.repo.SetRef("refs/pull/1/head", head); err != nil {
		t.Fatal(err)
	}
	daemontest.Eventually(t, 30*time.Second, "the plan once the head can be fetched", func() bool {
		list := f.gh.Statuses(head)
		return list[len(list)-1].GetState() == "success"
	})
}
