package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// sampleStatus is a fleet with an installation in every state the pages
// show apart.
func sampleStatus(now time.Time) Status {
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	return Status{
		Leading: true,
		Source: &SourceStatus{URL: "https://github.com/example/fleet.git", Ref: "main", Commit: "0123456789abcdef0123456789abcdef01234567",
			LastSuccess: at(-3 * time.Second), NextPoll: at(27 * time.Second)},
		Status: reconcile.Status{
			Commit: "0123456789abcdef0123456789abcdef01234567",
			Installations: []reconcile.InstallationStatus{
				{Name: "checkout", Path: "apps/checkout", Phase: reconcile.Failed, Message: "1 object(s) failed: <script>alert(1)</script>",
					SourceCommit: "0123456789abcdef0123456789abcdef01234567", AppliedCommit: "fedcba9876543210fedcba9876543210fedcba98",
					NextRetry: at(40 * time.Second), LastError: "render apps/checkout: kustomization.yaml: unknown field", LastErrorTime: at(-time.Second)},
				{Name: "shop", Path: "apps/shop", Phase: reconcile.Ready, Message: "1 configured, 1 unchanged",
					SourceCommit: "0123456789abcdef0123456789abcdef01234567", AppliedCommit: "0123456789abcdef0123456789abcdef01234567",
					LastApplyCommit: "0123456789abcdef0123456789abcdef01234567", LastApplyTime: at(-90 * time.Second), LastApplyDuration: "412ms",
					Objects: map[string]int{"configured": 1, "unchanged": 1},
					Changes: []reconcile.ObjectChange{
						{Object: "Deployment.apps/shop/web", Action: "configured", Health: "Current"},
						{Object: "Secret/shop/db", Action: "unchanged", Health: "Current"},
					},
					Drift: []reconcile.DriftStatus{{Object: "Secret/shop/db", Fields: []string{"data.password"}, Managers: []string{"kubectl-edit"},
						DetectedAt: now.Add(-2 * time.Second), Action: "reported"}}},
			},
		},
	}
}

func serve(t *testing.T, s Status) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	if err := Register(mux, Deps{Status: func() Status { return s }}, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

func mustContain(t *testing.T, page, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("%s lacks %q", page, want)
		}
	}
}

// TestPagesRenderTheStatus renders one value as the fleet page, an
// installation's page and JSON.
func TestPagesRenderTheStatus(t *testing.T) {
	s := sampleStatus(time.Now())
	srv := serve(t, s)

	code, hdr, fleet := get(t, srv.URL+"/")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, hdr.Get("Content-Type"))
	}
	mustContain(t, "fleet page", fleet,
		`<tr data-installation="checkout" data-phase="Failed">`,
		`<tr data-installation="shop" data-phase="Ready">`,
		`href="https://github.com/example/fleet/commit/0123456789abcdef0123456789abcdef01234567"`, // commits link to GitHub
		`href="https://github.com/example/fleet/tree/main"`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`, // messages are escaped
		"(retry in 40s)",
		`<span class="drift-count">1</span>`,
		"Leader",
		"1 Ready", "1 Failed",
	)
	if strings.Contains(fleet, "<script>alert") {
		t.Error("fleet page does not escape a message")
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q lets other scripts run", csp)
	}

	code, _, shop := get(t, srv.URL+"/installations/shop")
	if code != http.StatusOK {
		t.Fatalf("GET /installations/shop: %d", code)
	}
	mustContain(t, "shop's page", shop,
		`<tr data-object="Deployment.apps/shop/web">`,
		`<span class="badge action-configured">configured</span>`,
		`<span class="badge health-current">Current</span>`,
		`<code class="field">data.password</code>`,
		`<code class="field">kubectl-edit</code>`,
		`<span class="badge drift-reported">reported</span>`,
		`href="#drift">drifted</a>`,
		"<dt>Took</dt><dd>412ms</dd>",
	)
	mustContain(t, "checkout's page", func() string { _, _, b := get(t, srv.URL+"/installations/checkout"); return b }(),
		"kustomization.yaml: unknown field", "Not applied yet.")

	code, _, missing := get(t, srv.URL+"/installations/nope")
	if code != http.StatusNotFound {
		t.Errorf("GET /installations/nope: %d, want 404", code)
	}
	mustContain(t, "a missing installation's page", missing, "No installation “nope”")

	var back Status
	_, _, js := get(t, srv.URL+"/api/v1/installations")
	if err := json.Unmarshal([]byte(js), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Installations) != 2 || back.Installations[1].Changes[0].Health != "Current" || back.Source.Ref != "main" {
		t.Errorf("JSON status = %s", js)
	}
	if code, _, _ := get(t, srv.URL+"/api/v1/installations/nope"); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/installations/nope: %d, want 404", code)
	}
}

// TestPagesAssetsAreEmbedded serves every asset a page names from the
// binary, and nothing from elsewhere.
func TestPagesAssetsAreEmbedded(t *testing.T) {
	srv := serve(t, sampleStatus(time.Now()))
	_, _, page := get(t, srv.URL+"/")
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1)
	assets := 0
	for _, m := range refs {
		u := m[1]
		switch {
		case strings.HasPrefix(u, "/static/"):
			assets++
			code, hdr, body := get(t, srv.URL+u)
			if code != http.StatusOK || body == "" || hdr.Get("Cache-Control") == "" {
				t.Errorf("GET %s: %d, %d bytes, Cache-Control %q", u, code, len(body), hdr.Get("Cache-Control"))
			}
		case strings.HasPrefix(u, "https://github.com/example/fleet/"), strings.HasPrefix(u, "/"):
		default:
			t.Errorf("page refers to %s, outside the daemon", u)
		}
	}
	if assets < 3 {
		t.Errorf("page names %d assets, want the stylesheet, the script and the icon", assets)
	}
}

// TestPagesShowAFailingSource says since when the repository fails, and a
// look at it under way.
func TestPagesShowAFailingSource(t *testing.T) {
	now := time.Now()
	s := sampleStatus(now)
	failing, polling := now.Add(-5*time.Minute), now.Add(-42*time.Second)
	s.Source.LastError, s.Source.LastErrorTime, s.Source.ConsecutiveFailures = "poll: timed out after 1m0s", &polling, 3
	s.Source.FailingSince, s.Source.PollingSince = &failing, &polling
	_, _, fleet := get(t, serve(t, s).URL+"/")
	mustContain(t, "fleet page", fleet,
		`<strong>Failing since <time datetime="`+failing.UTC().Format(time.RFC3339)+`"`,
		"3 polls in a row", "poll: timed out after 1m0s",
		`under way, began <time datetime="`+polling.UTC().Format(time.RFC3339)+`"`)
}

// TestPagesLinkOnlyGitHubCommits shows a commit of a repository elsewhere
// without a link.
func TestPagesLinkOnlyGitHubCommits(t *testing.T) {
	s := sampleStatus(time.Now())
	s.Source.URL = "https://git.example.com/fleet.git"
	_, _, fleet := get(t, serve(t, s).URL+"/")
	if strings.Contains(fleet, "github.com") {
		t.Error("a repository not on GitHub gets GitHub links")
	}
	mustContain(t, "fleet page", fleet, `<code class="sha" title="0123456789abcdef0123456789abcdef01234567">0123456</code>`)
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1499 * time.Millisecond: "1s", 61 * time.Second: "1m01s", 2*time.Hour + 5*time.Minute: "2h05m", 76 * time.Hour: "3d4h", -time.Second: "0s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
