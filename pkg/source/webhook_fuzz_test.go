package source

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzWebhook feeds signed and unsigned bodies of any shape through the
// handler. It must never panic, must answer with one of the documented
// statuses and a JSON body, and must trigger only on a 202.
func FuzzWebhook(f *testing.F) {
	f.Add("push", "application/json", string(pushPayload("refs/heads/main")), true)
	f.Add("push", "application/json", string(pushPayload("refs/heads/other")), true)
	f.Add("push", "application/json", string(pushPayload("refs/tags/v1")), true)
	f.Add("push", "application/x-www-form-urlencoded", "payload="+url.QueryEscape(string(pushPayload("refs/heads/main"))), true)
	f.Add("push", "application/json; charset=utf-8", `{"ref":"refs/heads/main","repository":{"ssh_url":"git@github.com:example/fleet.git"}}`, true)
	f.Add("push", "application/json", `{"ref":"refs/heads/main","repository":{"clone_url":"::::"}}`, true)
	f.Add("push", "application/json", `{"ref":"refs/heads/main","repository":null}`, true)
	f.Add("push", "application/json", `{"ref":42}`, true)
	f.Add("push", "application/json", `[]`, true)
	f.Add("push", "application/json", ``, true)
	f.Add("push", "multipart/form-data; boundary=x", "--x--", true)
	f.Add("push", ";;;", "{}", true)
	f.Add("ping", "application/json", `{"zen":"Design for failure."}`, true)
	f.Add("issues", "application/json", `{}`, true)
	f.Add("push", "application/json", string(pushPayload("refs/heads/main")), false)
	f.Add("", "", "\x00\xff", false)

	secretFile := writeWebhookSecret(f)
	f.Fuzz(func(t *testing.T, event, contentType, body string, signed bool) {
		trig := &countingTrigger{}
		w := newTestWebhookFrom(t, secretFile, WebhookTarget{URL: "https://github.com/example/fleet.git", Ref: "main", Trigger: trig})
		req := webhookRequest("POST", event, []byte(body), "")
		req.Header.Set("Content-Type", contentType)
		if signed {
			req.Header.Set("X-Hub-Signature-256", sign([]byte(body), testWebhookSecret))
		}
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for event %q, content type %q", rec.Code, event, contentType)
		}
		var reply webhookReply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("reply %q is not JSON: %v", rec.Body, err)
		}
		if !signed && rec.Code != http.StatusUnauthorized {
			t.Fatalf("unsigned request got %d", rec.Code)
		}
		if got := trig.n.Load(); (rec.Code == http.StatusAccepted) != (got == 1) {
			t.Fatalf("status %d but %d triggers", rec.Code, got)
		}
	})
}
