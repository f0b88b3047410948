package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/source"
	"github.com/prometheus/client_golang/prometheus"
)

const testSecret = "webhook-shared-secret"

var _ Source = (*source.Poller)(nil)

// countingSource is a real Poller (its repository and ref matching) whose
// triggers are counted; it is never run.
type countingSource struct {
	*source.Poller
	n atomic.Int64
}

func (c *countingSource) Trigger() { c.n.Add(1); c.Poller.Trigger() }

func newSource(t testing.TB, repoURL, ref string) *countingSource {
	t.Helper()
	opts := source.DefaultOptions()
	opts.URL, opts.Ref, opts.CacheDir = repoURL, ref, t.TempDir()
	if strings.HasPrefix(repoURL, "ssh://") || strings.HasPrefix(repoURL, "git@") {
		// Checked, never read: the poller is not run.
		opts.Auth.SSHKeyFile, opts.Auth.InsecureIgnoreHostKey = "id_ed25519", true
	}
	p, err := source.NewPoller(opts, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &countingSource{Poller: p}
}

// recordingPRs is a PullRequestHandler that remembers its calls.
type recordingPRs struct {
	mu      sync.Mutex
	planned []PullRequest
	forgot  []int
}

func (r *recordingPRs) Plan(pr PullRequest) {
	r.mu.Lock()
	r.planned = append(r.planned, pr)
	r.mu.Unlock()
}
func (r *recordingPRs) Forget(n int) { r.mu.Lock(); r.forgot = append(r.forgot, n); r.mu.Unlock() }

func (r *recordingPRs) calls() (planned []PullRequest, forgot []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]PullRequest(nil), r.planned...), append([]int(nil), r.forgot...)
}

func newRouter(t testing.TB, opts RouterOptions, deps RouterDeps) *Router {
	t.Helper()
	opts.SecretFile = writeSecret(t)
	rt, err := NewRouter(opts, deps)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return rt
}

func writeSecret(t testing.TB) string {
	t.Helper()
	p := t.TempDir() + "/secret"
	if err := os.WriteFile(p, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// repository is how GitHub names github.com/Example/Fleet in payloads.
var repository = map[string]any{
	"full_name": "Example/Fleet",
	"html_url":  "https://github.com/Example/Fleet",
	"clone_url": "https://github.com/Example/Fleet.git",
	"ssh_url":   "git@github.com:Example/Fleet.git",
	"git_url":   "git://github.com/Example/Fleet.git",
}

func pushPayload(ref string) []byte {
	b, _ := json.Marshal(map[string]any{"ref": ref, "before": sha(0), "after": sha(1), "repository": repository})
	return b
}

// prPayload is a pull_request delivery for #42 from branch change into base.
func prPayload(action, base string, extra map[string]any) []byte {
	ev := map[string]any{
		"action": action,
		"number": 42,
		"pull_request": map[string]any{
			"number": 42, "state": "open", "title": "Scale web", "updated_at": "2026-11-30T10:00:00Z",
			"user": map[string]any{"login": "octocat"},
			"head": map[string]any{"ref": "change", "sha": sha(42), "repo": map[string]any{"full_name": "Example/Fleet"}},
			"base": map[string]any{"ref": base, "sha": sha(1), "repo": map[string]any{"full_name": "Example/Fleet"}},
		},
		"repository": repository,
	}
	for k, v := range extra {
		ev[k] = v
	}
	b, _ := json.Marshal(ev)
	return b
}

func hookRequest(method, event string, body []byte, signature string) *http.Request {
	r := httptest.NewRequest(method, "/hooks/github", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if event != "" {
		r.Header.Set("X-GitHub-Event", event)
	}
	if signature != "" {
		r.Header.Set("X-Hub-Signature-256", signature)
	}
	r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	return r
}

func signed(event string, body []byte) *http.Request {
	return hookRequest("POST", event, body, sign(body, testSecret))
}

func TestRouter(t *testing.T) {
	push := pushPayload("refs/heads/main")
	form := []byte("payload=" + url.QueryEscape(string(push)))
	big := append(pushPayload("refs/heads/main"), bytes.Repeat([]byte(" "), 1<<20)...)
	chunked := signed("push", big)
	chunked.ContentLength = -1 // no length announced: the limit still holds
	with := func(r *http.Request, f func(*http.Request)) *http.Request { f(r); return r }

	tests := []struct {
		name      string
		target    string // followed repository
		ref       string // followed ref
		noPRs     bool   // no pull request handler
		req       *http.Request
		status    int
		result    string
		triggered int64
		planned   []int
		forgot    []int
	}{
		{name: "push to the followed branch", req: signed("push", push), status: 202, result: "triggered", triggered: 1},
		{name: "ssh URL and full ref name match", target: "git@github.com:example/fleet", ref: "refs/heads/main", req: signed("push", push), status: 202, result: "triggered", triggered: 1},
		{name: "ssh:// URL with port matches", target: "ssh://git@GitHub.com:22/Example/Fleet.git/", req: signed("push", push), status: 202, result: "triggered", triggered: 1},
		{name: "form-encoded payload", req: with(signed("push", form), func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }), status: 202, result: "triggered", triggered: 1},
		{name: "wrong signature", req: hookRequest("POST", "push", push, sign(push, "another secret")), status: 401, result: "unauthorized"},
		{name: "missing signature", req: hookRequest("POST", "push", push, ""), status: 401, result: "unauthorized"},
		{name: "signature of another body", req: hookRequest("POST", "push", push, sign([]byte("{}"), testSecret)), status: 401, result: "unauthorized"},
		{name: "SHA-1 signature is not enough", req: with(hookRequest("POST", "push", push, ""), func(r *http.Request) { r.Header.Set("X-Hub-Signature", "sha1=0000") }), status: 401, result: "unauthorized"},
		{name: "other branch", ref: "release", req: signed("push", push), status: 200, result: "ignored"},
		{name: "tag of the branch's name", ref: "refs/tags/main", req: signed("push", push), status: 200, result: "ignored"},
		{name: "pinned commit never matches", ref: strings.Repeat("1", 40), req: signed("push", push), status: 200, result: "ignored"},
		{name: "other repository", target: "https://github.com/example/other.git", req: signed("push", push), status: 200, result: "ignored"},
		{name: "other host", target: "https://gitlab.com/example/fleet.git", req: signed("push", push), status: 200, result: "ignored"},
		{name: "ping", req: signed("ping", []byte(`{"zen":"Keep it logically awesome."}`)), status: 200, result: "pong"},
		{name: "other event", req: signed("issues", push), status: 200, result: "ignored"},
		{name: "oversized body", req: signed("push", big), status: 413, result: "too_large"},
		{name: "oversized body of no announced length", req: chunked, status: 413, result: "too_large"},
		{name: "wrong method", req: hookRequest("GET", "push", nil, ""), status: 405, result: "method_not_allowed"},
		{name: "signed garbage", req: signed("push", []byte("{not json")), status: 400, result: "bad_request"},
		{name: "push naming no repository", req: signed("push", []byte(`{"ref":"refs/heads/main"}`)), status: 400, result: "bad_request"},
		{name: "unsupported content type", req: with(signed("push", push), func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }), status: 400, result: "bad_request"},

		{name: "pull request opened", req: signed("pull_request", prPayload("opened", "main", nil)), status: 202, result: "planned", planned: []int{42}},
		{name: "pull request pushed to", req: signed("pull_request", prPayload("synchronize", "main", nil)), status: 202, result: "planned", planned: []int{42}},
		{name: "pull request reopened", req: signed("pull_request", prPayload("reopened", "main", nil)), status: 202, result: "planned", planned: []int{42}},
		{name: "pull request ready for review", req: signed("pull_request", prPayload("ready_for_review", "main", nil)), status: 202, result: "planned", planned: []int{42}},
		{name: "pull request closed", req: signed("pull_request", prPayload("closed", "main", nil)), status: 202, result: "forgotten", forgot: []int{42}},
		{name: "pull request labeled", req: signed("pull_request", prPayload("labeled", "main", nil)), status: 200, result: "ignored"},
		{name: "pull request into another branch", req: signed("pull_request", prPayload("opened", "release", nil)), status: 200, result: "ignored"},
		{name: "pull request into another repository's main", target: "https://github.com/example/other", req: signed("pull_request", prPayload("opened", "main", nil)), status: 200, result: "ignored"},
		{name: "pull request retargeted to main", req: signed("pull_request", prPayload("edited", "main", map[string]any{"changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "release"}}}})), status: 202, result: "planned", planned: []int{42}},
		{name: "pull request retargeted away from main", req: signed("pull_request", prPayload("edited", "release", map[string]any{"changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "main"}}}})), status: 202, result: "forgotten", forgot: []int{42}},
		{name: "pull request title edited", req: signed("pull_request", prPayload("edited", "main", map[string]any{"changes": map[string]any{"title": map[string]any{"from": "x"}}})), status: 200, result: "ignored"},
		{name: "pull request without plans", noPRs: true, req: signed("pull_request", prPayload("opened", "main", nil)), status: 202, result: "ignored"},
		{name: "pull request with a short head SHA", req: signed("pull_request", bytes.Replace(prPayload("opened", "main", nil), []byte(sha(42)), []byte("abc123"), 1)), status: 400, result: "bad_request"},
		{name: "pull request badly signed", req: hookRequest("POST", "pull_request", prPayload("opened", "main", nil), sign(nil, testSecret)), status: 401, result: "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.target == "" {
				tt.target = "https://github.com/example/fleet.git"
			}
			if tt.ref == "" {
				tt.ref = "main"
			}
			src, prs := newSource(t, tt.target, tt.ref), &recordingPRs{}
			deps := RouterDeps{Sources: []Source{src}, PullRequests: prs}
			if tt.noPRs {
				deps.PullRequests = nil
			}
			rt := newRouter(t, DefaultRouterOptions(), deps)
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, tt.req)
			var rep reply
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatalf("reply %q is not JSON: %v", rec.Body, err)
			}
			t.Logf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
			if rec.Code != tt.status || rep.Result != tt.result {
				t.Fatalf("got %d %+v, want %d %s", rec.Code, rep, tt.status, tt.result)
			}
			if rep.Result == "ignored" && rep.Reason == "" {
				t.Fatal("ignored without a reason")
			}
			if got := src.n.Load(); got != tt.triggered {
				t.Fatalf("triggered %d times, want %d", got, tt.triggered)
			}
			planned, forgot := prs.calls()
			var numbers []int
			for _, pr := range planned {
				numbers = append(numbers, pr.Number)
			}
			if !slices.Equal(numbers, tt.planned) || !slices.Equal(forgot, tt.forgot) {
				t.Fatalf("planned %v, forgot %v; want %v, %v", numbers, forgot, tt.planned, tt.forgot)
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Fatalf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

// TestRouterPassesPullRequest: the handler gets the pull request as the
// payload describes it.
func TestRouterPassesPullRequest(t *testing.T) {
	prs := &recordingPRs{}
	rt := newRouter(t, DefaultRouterOptions(), RouterDeps{Sources: []Source{newSource(t, "https://github.com/example/fleet", "main")}, PullRequests: prs})
	body := bytes.Replace(prPayload("opened", "main", nil), []byte(`"head":{"ref":"change","repo":{"full_name":"Example/Fleet"}`), []byte(`"head":{"ref":"change","repo":{"full_name":"someone/fleet"}`), 1)
	rt.ServeHTTP(httptest.NewRecorder(), signed("pull_request", body))
	planned, _ := prs.calls()
	if len(planned) != 1 {
		t.Fatalf("planned %v", planned)
	}
	want := PullRequest{Number: 42, Title: "Scale web", State: "open", Author: "octocat", HeadSHA: sha(42), HeadRef: "change",
		HeadRepository: "someone/fleet", BaseRef: "main", BaseSHA: sha(1), BaseRepository: "Example/Fleet",
		UpdatedAt: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	if planned[0] != want || !planned[0].Fork() {
		t.Fatalf("planned %+v\nwant    %+v (a fork)", planned[0], want)
	}
}

// TestRouterMetricsAndWarnings: every delivery is counted by event and
// result, and a flood of bad signatures logs one warning per interval,
// with the count of the ones held back.
func TestRouterMetricsAndWarnings(t *testing.T) {
	var logged bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
	reg := prometheus.NewRegistry()
	opts := DefaultRouterOptions()
	opts.WarnEvery = time.Hour
	rt := newRouter(t, opts, RouterDeps{
		Sources:      []Source{newSource(t, "https://github.com/example/fleet", "main")},
		PullRequests: &recordingPRs{}, Registerer: reg, Log: log,
	})
	serve := func(r *http.Request) { rt.ServeHTTP(httptest.NewRecorder(), r) }
	serve(signed("push", pushPayload("refs/heads/main")))
	serve(signed("pull_request", prPayload("opened", "main", nil)))
	serve(signed("ping", []byte(`{}`)))
	for range 50 {
		serve(hookRequest("POST", "workflow_run", []byte(`{}`), "sha256=00"))
	}
	for _, tc := range []struct {
		event, result string
		want          float64
	}{
		{"push", "triggered", 1}, {"pull_request", "planned", 1}, {"ping", "pong", 1}, {"other", "unauthorized", 50},
	} {
		if got := metric(t, reg, "gitopsd_webhook_requests_total", "event", tc.event, "result", tc.result); got != tc.want {
			t.Errorf("gitopsd_webhook_requests_total{event=%q,result=%q} = %v, want %v", tc.event, tc.result, got, tc.want)
		}
	}
	logMu.Lock()
	warnings := strings.Count(logged.String(), "signature missing or wrong")
	logMu.Unlock()
	if warnings != 1 {
		t.Fatalf("%d warnings for 50 bad signatures within the interval, want 1:\n%s", warnings, logged.String())
	}

	var l logLimiter
	l.every = time.Minute
	now := time.Now()
	if ok, _ := l.allow(now); !ok {
		t.Fatal("first warning held back")
	}
	for range 9 {
		l.allow(now.Add(time.Second))
	}
	if ok, suppressed := l.allow(now.Add(time.Minute)); !ok || suppressed != 9 {
		t.Fatalf("warning after the interval: %v, %d held back; want true, 9", ok, suppressed)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRouterOptions(t *testing.T) {
	if err := DefaultRouterOptions().Validate(); err == nil {
		t.Fatal("options without a secret validated")
	}
	opts := DefaultRouterOptions()
	opts.SecretEnv = "GITOPSD_TEST_WEBHOOK_SECRET_UNSET"
	if _, err := NewRouter(opts, RouterDeps{}); err == nil || !strings.Contains(err.Error(), "GITOPSD_TEST_WEBHOOK_SECRET_UNSET") {
		t.Fatalf("NewRouter with an unset secret variable = %v", err)
	}
	t.Setenv("GITOPSD_TEST_WEBHOOK_SECRET", testSecret)
	opts.SecretEnv = "GITOPSD_TEST_WEBHOOK_SECRET"
	if _, err := NewRouter(opts, RouterDeps{Sources: []Source{nil}}); err == nil {
		t.Fatal("a nil source accepted")
	}
	opts.MaxPendingBytes = opts.MaxBodyBytes - 1
	if _, err := NewRouter(opts, RouterDeps{}); err == nil {
		t.Fatal("a pending budget smaller than one body accepted")
	}
	empty := t.TempDir() + "/empty"
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts = DefaultRouterOptions()
	opts.SecretFile = empty
	if _, err := NewRouter(opts, RouterDeps{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("NewRouter with an empty secret file = %v", err)
	}
}

func TestRouterTriggersOnlyMatchingSources(t *testing.T) {
	mainSrc := newSource(t, "https://github.com/example/fleet.git", "main")
	releaseSrc := newSource(t, "https://github.com/example/fleet.git", "release")
	otherSrc := newSource(t, "https://github.com/example/other.git", "release")
	rt := newRouter(t, DefaultRouterOptions(), RouterDeps{Sources: []Source{mainSrc, releaseSrc, otherSrc}})
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, signed("push", pushPayload("refs/heads/release")))
	if rec.Code != 202 || mainSrc.n.Load() != 0 || releaseSrc.n.Load() != 1 || otherSrc.n.Load() != 0 {
		t.Fatalf("got %d, triggers main=%d release=%d other=%d", rec.Code, mainSrc.n.Load(), releaseSrc.n.Load(), otherSrc.n.Load())
	}
}
