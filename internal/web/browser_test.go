package web_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "write the browser test's screenshots to docs/ at the repository's root")

// TestStatusPageInBrowser opens the fleet page in headless Chromium, sees
// a commit that breaks an installation reach the open page without a
// reload, opens a diff on a pull request's plan page and sees it stay
// open while the page refreshes, and takes screenshots at a desktop and a
// phone width (kept with -artifacts; written to docs/ with -update).
func TestStatusPageInBrowser(t *testing.T) {
	browser := newBrowser(t)
	ctx := context.Background()
	// Held until a daily window six hours from now opens.
	opens := time.Now().UTC().Add(6 * time.Hour).Hour()
	repo := newGitRepo(t, map[string]string{
		"gitopsd.yaml": "installations:\n" +
			"  - name: frontend\n    path: apps/frontend\n    drift: report\n" +
			"  - name: payments\n    path: apps/payments\n" +
			"  - name: monitoring\n    path: platform/monitoring\n" +
			fmt.Sprintf("  - name: reports\n    path: apps/reports\n    windows:\n      - kind: allow\n        schedule: \"0 %d * * *\"\n        duration: 1h\n", opens),
		"apps/frontend/kustomization.yaml":       "namespace: frontend\nresources: [namespace.yaml, config.yaml, service.yaml, account.yaml]\n",
		"apps/frontend/namespace.yaml":           namespace("frontend"),
		"apps/frontend/config.yaml":              configMap("frontend-config", "theme: dark"),
		"apps/frontend/service.yaml":             service("frontend"),
		"apps/frontend/account.yaml":             "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: frontend\n",
		"apps/payments/kustomization.yaml":       "namespace: payments\nresources: [namespace.yaml, config.yaml, service.yaml]\n",
		"apps/payments/namespace.yaml":           namespace("payments"),
		"apps/payments/config.yaml":              configMap("payments-config", "currency: EUR"),
		"apps/payments/service.yaml":             service("payments"),
		"platform/monitoring/kustomization.yaml": "namespace: monitoring\nresources: [namespace.yaml, rules.yaml]\n",
		"platform/monitoring/namespace.yaml":     namespace("monitoring"),
		"platform/monitoring/rules.yaml":         configMap("alert-rules", "rules.yaml: \"groups: []\""),
		"apps/reports/kustomization.yaml":        "namespace: reports\nresources: [namespace.yaml, config.yaml]\n",
		"apps/reports/namespace.yaml":            namespace("reports"),
		"apps/reports/config.yaml":               configMap("reports-config", "schedule: nightly"),
	})
	gh := githubtest.NewServer(githubtest.Options{})
	t.Cleanup(gh.Close)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte(gh.Token()), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, repo.url, "--github-token-file", token, "--github-api-url", gh.URL, "--github-repository", gh.Repository())
	phases := func(want map[string]reconcile.Phase) func(web.Status) bool {
		return func(s web.Status) bool {
			for name, phase := range want {
				if in, ok := s.Installation(name); !ok || in.Phase != phase {
					return false
				}
			}
			return true
		}
	}
	d.waitStatus(60*time.Second, "the fleet applied, reports held", phases(map[string]reconcile.Phase{
		"frontend": reconcile.Ready, "payments": reconcile.Ready, "monitoring": reconcile.Ready, "reports": reconcile.Held}))
	cm, err := env.Client.CoreV1().ConfigMaps("frontend").Get(ctx, "frontend-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["theme"] = "light"
	if _, err := env.Client.CoreV1().ConfigMaps("frontend").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	d.waitStatus(10*time.Second, "frontend's drift", func(s web.Status) bool {
		in, _ := s.Installation("frontend")
		return len(in.Drift) == 1
	})

	// The page lists the fleet; payments is Ready.
	row := `tr[data-installation="payments"]`
	do(t, browser, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#installations table`)))
	if phase := run(t, browser, chromedp.Text(chromedp.CSS(row+" .badge"))); phase != "Ready" {
		t.Fatalf("payments shows phase %q, want Ready", phase)
	}
	run(t, browser, chromedp.Evaluate[bool](`window.notReloaded = true`))

	// A commit that does not render reaches the open page by itself.
	broken := repo.commit("payments: add the fraud check", map[string]string{
		"apps/payments/kustomization.yaml": "namespace: payments\nresources: [namespace.yaml, config.yaml, service.yaml, fraud-check.yaml]\n",
	})
	start := time.Now()
	run(t, browser, chromedp.Poll[bool](fmt.Sprintf(
		`document.querySelector('%s .badge').textContent === "Failed" && document.querySelector('%s').textContent.includes(%q)`, row, row, broken[:7]),
		chromedp.WithPollingTimeout(30*time.Second)))
	t.Logf("the page showed payments Failed at %s %s after the push", broken[:7], time.Since(start).Round(time.Millisecond))
	if !run(t, browser, chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Error("the page was reloaded to show the change")
	}
	if reason := run(t, browser, chromedp.Text(chromedp.CSS(row+" .reason"))); !strings.Contains(reason, "fraud-check.yaml") {
		t.Errorf("payments' reason %q does not name the missing file", reason)
	}
	if live := run(t, browser, chromedp.Text(chromedp.CSS(`#live`))); live != "Live" {
		t.Errorf("the live indicator reads %q", live)
	}

	// A pull request's plan: its page lists the objects; a diff opened
	// stays open while the page keeps itself current.
	main := git(t, repo.work, "rev-parse", "HEAD")
	head := repo.pullRequest(1, "theme", map[string]string{
		"apps/frontend/kustomization.yaml": "namespace: frontend\nresources: [namespace.yaml, config.yaml, service.yaml, account.yaml, session.yaml]\n",
		"apps/frontend/config.yaml":        configMap("frontend-config", "theme: light\n  banner: \"Summer sale\""),
		"apps/frontend/session.yaml":       "apiVersion: v1\nkind: Secret\nmetadata:\n  name: session-key\nstringData:\n  key: not-on-the-page\n",
	})
	if _, err := gh.OpenPR(githubtest.PR{Number: 1, Title: "Frontend: light theme and a sale banner", HeadRef: "theme", HeadSHA: head, BaseRef: "main", BaseSHA: main, Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	plan := d.url + "/plans/1"
	do(t, browser, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(plan))
	// Main does not render payments: the plan says so beside frontend's
	// changes.
	run(t, browser, chromedp.Poll[bool](`document.querySelector('h1 [data-state="failure"]') !== null`, chromedp.WithPollingTimeout(50*time.Second)))
	if text := run(t, browser, chromedp.Text(chromedp.CSS(`tr[data-plan="payments"]`))); !strings.Contains(text, "render error") {
		t.Errorf("payments' row of the plan reads %q", text)
	}
	diff := `details[data-object="ConfigMap/frontend/frontend-config"]`
	do(t, browser, chromedp.Click(chromedp.CSS(diff+" > summary")), chromedp.WaitVisible(chromedp.CSS(diff+" pre.diff")))
	stamp := run(t, browser, chromedp.Text(chromedp.CSS(".stamp time")))
	run(t, browser, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector('.stamp time').textContent !== %q`, stamp), chromedp.WithPollingTimeout(10*time.Second)))
	if !run(t, browser, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector('%s').open`, diff))) {
		t.Error("the opened diff closed when the page refreshed itself")
	}
	if text := run(t, browser, chromedp.Text(chromedp.CSS(diff+" pre.diff"))); !strings.Contains(text, "+  banner: Summer sale") {
		t.Errorf("the diff reads %q", text)
	}

	openDiff := chromedp.Click(chromedp.CSS(diff + " > summary"))
	shots := map[string][]byte{
		"status-page.png":                    screenshot(t, browser, 1280, d.url+"/"),
		"status-page-phone.png":              screenshot(t, browser, 390, d.url+"/"),
		"status-page-installation.png":       screenshot(t, browser, 1280, d.url+"/installations/frontend"),
		"status-page-installation-phone.png": screenshot(t, browser, 390, d.url+"/installations/frontend"),
		"status-page-plan.png":               screenshot(t, browser, 1280, plan, openDiff),
		"status-page-plan-phone.png":         screenshot(t, browser, 390, plan, openDiff),
	}
	for name, png := range shots {
		if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if *update && (!strings.HasSuffix(name, "-phone.png") || name == "status-page-phone.png") {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots in %s", t.ArtifactDir())
}

// screenshot loads url at width px, takes the steps, checks that nothing
// sticks out sideways, and captures the whole page as PNG.
func screenshot(t *testing.T, browser context.Context, width int64, url string, steps ...chromedp.Action[chromedp.Void]) []byte {
	t.Helper()
	do(t, browser, append([]chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(width, 600), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#content`))}, steps...)...)
	if got := run(t, browser, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); got > width {
		t.Errorf("%s at %dpx is %dpx wide: it scrolls sideways", url, width, got)
	}
	return run(t, browser, chromedp.FullScreenshot(100))
}

// newBrowser starts headless Chromium for the test, with a profile of its
// own and none of its background connections.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: `make test` installs it, or run: apt-get update && apt-get install -y chromium")
	}
	var output daemontest.Buffer
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), // screenshots as wide as the page
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(&output),
	)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})
	// The first run starts the browser, which lives as long as the
	// context of that run: the test's, with no timeout.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// do runs steps, each bounded so that a page that never settles fails the
// test instead of hanging it.
func do(t *testing.T, browser context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func run[T any](t *testing.T, browser context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func namespace(name string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
}

func configMap(name, data string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  " + data + "\n"
}

func service(name string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\nspec:\n  selector:\n    app: " + name + "\n  ports:\n  - port: 80\n    targetPort: 8080\n"
}
