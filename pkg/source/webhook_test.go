package source

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testWebhookSecret = "webhook-shared-secret"

type countingTrigger struct{ n atomic.Int64 }

func (c *countingTrigger) Trigger() { c.n.Add(1) }

func newTestWebhook(t testing.TB, targets ...WebhookTarget) *Webhook {
	t.Helper()
	return newTestWebhookFrom(t, writeWebhookSecret(t), targets...)
}

func writeWebhookSecret(t testing.TB) string {
	t.Helper()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testWebhookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secretFile
}

func newTestWebhookFrom(t testing.TB, secretFile string, targets ...WebhookTarget) *Webhook {
	t.Helper()
	opts := DefaultWebhookOptions()
	opts.SecretFile = secretFile
	w, err := NewWebhook(opts, nil, NewMetrics(), targets...)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// pushPayload is shaped like GitHub's push event for github.com/Example/Fleet.
func pushPayload(ref string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref":    ref,
		"before": strings.Repeat("0", 40),
		"after":  strings.Repeat("1", 40),
		"repository": map[string]any{
			"full_name": "Example/Fleet",
			"html_url":  "https://github.com/Example/Fleet",
			"clone_url": "https://github.com/Example/Fleet.git",
			"ssh_url":   "git@github.com:Example/Fleet.git",
			"git_url":   "git://github.com/Example/Fleet.git",
		},
	})
	return b
}

func webhookRequest(method, event string, body []byte, signature string) *http.Request {
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

func TestWebhook(t *testing.T) {
	push := pushPayload("refs/heads/main")
	formBody := []byte("payload=" + url.QueryEscape(string(push)))
	big := append(pushPayload("refs/heads/main"), bytes.Repeat([]byte(" "), DefaultMaxWebhookBytes)...)

	tests := []struct {
		name      string
		target    string // configured URL
		ref       string // configured ref
		req       *http.Request
		status    int
		result    string
		triggered int64
	}{
		{name: "push to followed branch", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 202, result: "triggered", triggered: 1},
		{name: "ssh URL and full ref name match", target: "git@github.com:example/fleet", ref: "refs/heads/main",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 202, result: "triggered", triggered: 1},
		{name: "ssh:// URL with port matches", target: "ssh://git@GitHub.com:22/Example/Fleet.git/", ref: "main",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 202, result: "triggered", triggered: 1},
		{name: "form-encoded payload", target: "https://github.com/example/fleet", ref: "main",
			req: func() *http.Request {
				r := webhookRequest("POST", "push", formBody, sign(formBody, testWebhookSecret))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			}(), status: 202, result: "triggered", triggered: 1},
		{name: "wrong signature", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", push, sign(push, "another secret")), status: 401, result: "unauthorized"},
		{name: "missing signature", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", push, ""), status: 401, result: "unauthorized"},
		{name: "signature of another body", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", push, sign([]byte("{}"), testWebhookSecret)), status: 401, result: "unauthorized"},
		{name: "SHA-1 signature is not enough", target: "https://github.com/example/fleet.git", ref: "main",
			req: func() *http.Request {
				r := webhookRequest("POST", "push", push, "")
				r.Header.Set("X-Hub-Signature", "sha1=0000")
				return r
			}(), status: 401, result: "unauthorized"},
		{name: "other branch", target: "https://github.com/example/fleet.git", ref: "release",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 200, result: "ignored"},
		{name: "tag of the branch's name", target: "https://github.com/example/fleet.git", ref: "refs/tags/main",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 200, result: "ignored"},
		{name: "pinned commit never matches", target: "https://github.com/example/fleet.git", ref: strings.Repeat("1", 40),
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 200, result: "ignored"},
		{name: "other repository", target: "https://github.com/example/other.git", ref: "main",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 200, result: "ignored"},
		{name: "other host", target: "https://gitlab.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", push, sign(push, testWebhookSecret)), status: 200, result: "ignored"},
		{name: "ping", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "ping", []byte(`{"zen":"Keep it logically awesome."}`), sign([]byte(`{"zen":"Keep it logically awesome."}`), testWebhookSecret)), status: 200, result: "pong"},
		{name: "other event", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "issues", push, sign(push, testWebhookSecret)), status: 200, result: "ignored"},
		{name: "oversized body", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", big, sign(big, testWebhookSecret)), status: 413, result: "too_large"},
		{name: "wrong method", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("GET", "push", nil, ""), status: 405, result: "method_not_allowed"},
		{name: "signed garbage", target: "https://github.com/example/fleet.git", ref: "main",
			req: webhookRequest("POST", "push", []byte("{not json"), sign([]byte("{not json"), testWebhookSecret)), status: 400, result: "bad_request"},
		{name: "unsupported content type", target: "https://github.com/example/fleet.git", ref: "main",
			req: func() *http.Request {
				r := webhookRequest("POST", "push", push, sign(push, testWebhookSecret))
				r.Header.Set("Content-Type", "text/plain")
				return r
			}(), status: 400, result: "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trig := &countingTrigger{}
			w := newTestWebhook(t, WebhookTarget{URL: tt.target, Ref: tt.ref, Trigger: trig})
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, tt.req)
			var reply webhookReply
			if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
				t.Fatalf("reply %q is not JSON: %v", rec.Body, err)
			}
			t.Logf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
			if rec.Code != tt.status || reply.Result != tt.result {
				t.Fatalf("got %d %+v, want %d %s", rec.Code, reply, tt.status, tt.result)
			}
			if reply.Result == "ignored" && reply.Reason == "" {
				t.Fatal("ignored without a reason")
			}
			if got := trig.n.Load(); got != tt.triggered {
				t.Fatalf("triggered %d times, want %d", got, tt.triggered)
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Fatalf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestWebhookTriggersOnlyMatchingTargets(t *testing.T) {
	mainT, releaseT, otherT := &countingTrigger{}, &countingTrigger{}, &countingTrigger{}
	w := newTestWebhook(t,
		WebhookTarget{URL: "https://github.com/example/fleet.git", Ref: "main", Trigger: mainT},
		WebhookTarget{URL: "https://github.com/example/fleet.git", Ref: "release", Trigger: releaseT},
		WebhookTarget{URL: "https://github.com/example/other.git", Ref: "main", Trigger: otherT},
	)
	push := pushPayload("refs/heads/release")
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, webhookRequest("POST", "push", push, sign(push, testWebhookSecret)))
	if rec.Code != 202 || mainT.n.Load() != 0 || releaseT.n.Load() != 1 || otherT.n.Load() != 0 {
		t.Fatalf("got %d, triggers main=%d release=%d other=%d", rec.Code, mainT.n.Load(), releaseT.n.Load(), otherT.n.Load())
	}
}

func TestWebhookOptions(t *testing.T) {
	if err := DefaultWebhookOptions().Validate(); err == nil {
		t.Fatal("options without a secret validated")
	}
	opts := DefaultWebhookOptions()
	opts.SecretEnv = "GITOPSD_TEST_WEBHOOK_SECRET_UNSET"
	if _, err := NewWebhook(opts, nil, nil); err == nil || !strings.Contains(err.Error(), "GITOPSD_TEST_WEBHOOK_SECRET_UNSET") {
		t.Fatalf("NewWebhook with unset secret variable = %v", err)
	}
	t.Setenv("GITOPSD_TEST_WEBHOOK_SECRET", testWebhookSecret)
	opts.SecretEnv = "GITOPSD_TEST_WEBHOOK_SECRET"
	if _, err := NewWebhook(opts, nil, nil, WebhookTarget{URL: "https://github.com/x/y", Ref: "main"}); err == nil {
		t.Fatal("target without a trigger accepted")
	}
	if _, err := NewWebhook(opts, nil, nil, WebhookTarget{URL: "https://github.com/x/y", Ref: "bad ref", Trigger: &countingTrigger{}}); err == nil {
		t.Fatal("target with a bad ref accepted")
	}
	opts.MaxBodyBytes = 0
	if _, err := NewWebhook(opts, nil, nil); err == nil {
		t.Fatal("zero body limit accepted")
	}
}

// TestWebhookToSnapshot is the whole path: a Poller that would not poll for
// an hour picks up a pushed commit as soon as the signed webhook arrives.
func TestWebhookToSnapshot(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	git := newGitServer(t, root, "", "")
	opts := testOptions(git.URL+"/fleet.git", "main", t.TempDir())
	opts.Interval, opts.MaxBackoff = time.Hour, time.Hour
	log, _ := newTestLogger(t)
	p := newTestPoller(t, opts, log)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitUpdate(t, p, repo.head(), 10*time.Second)
	eventually(t, time.Second, "next poll about an hour from now", func() bool {
		return time.Until(p.Status().NextPoll) > 50*time.Minute
	})

	// The webhook is served over real HTTP, from a payload naming the test
	// server's repository.
	hook := httptest.NewServer(newTestWebhook(t, WebhookTarget{URL: opts.URL, Ref: opts.Ref, Trigger: p}))
	t.Cleanup(hook.Close)
	want := repo.commit("deploy v2", map[string]string{"version": "2\n"})
	body, _ := json.Marshal(map[string]any{
		"ref":        "refs/heads/main",
		"after":      want,
		"repository": map[string]any{"full_name": "local/fleet", "clone_url": opts.URL},
	})

	start := time.Now()
	req, _ := http.NewRequest("POST", hook.URL+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(body, testWebhookSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook status = %d", resp.StatusCode)
	}
	s := waitUpdate(t, p, want, time.Second)
	elapsed := time.Since(start)
	t.Logf("webhook to new snapshot: %s", elapsed)
	if readFile(t, s, "version") != "2\n" {
		t.Fatal("new snapshot lacks the pushed file")
	}
}

// waitUpdate waits on the poller's notifications until Latest is at commit
// want, failing after within.
func waitUpdate(t *testing.T, p *Poller, want string, within time.Duration) Snapshot {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		if s, ok := p.Latest(); ok && s.Commit == want {
			return s
		}
		select {
		case <-p.Updates():
		case <-deadline.C:
			s, _ := p.Latest()
			t.Fatalf("no snapshot of %s within %s (latest %s, status %+v)", want, within, s.Commit, p.Status())
		}
	}
}

// eventually checks cond every few milliseconds until it holds, failing
// after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		<-tick.C
	}
}
