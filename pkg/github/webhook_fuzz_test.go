package github

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzRouter feeds signed and unsigned deliveries of any event, content
// type and body through the router: it must never panic, must answer one
// of the documented statuses with a JSON body, must refuse anything
// unsigned, and must act (trigger, plan, forget) only when it says so.
func FuzzRouter(f *testing.F) {
	retarget := map[string]any{"changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "release"}}}}
	for _, seed := range []struct {
		event, contentType, body string
		signed                   bool
	}{
		{"push", "application/json", string(pushPayload("refs/heads/main")), true},
		{"push", "application/json", string(pushPayload("refs/heads/other")), true},
		{"push", "application/json", string(pushPayload("refs/tags/v1")), true},
		{"push", "application/x-www-form-urlencoded", "payload=" + url.QueryEscape(string(pushPayload("refs/heads/main"))), true},
		{"push", "application/json; charset=utf-8", `{"ref":"refs/heads/main","repository":{"ssh_url":"git@github.com:example/fleet.git"}}`, true},
		{"push", "application/json", `{"ref":"refs/heads/main","repository":{"clone_url":"::::"}}`, true},
		{"push", "application/json", `{"ref":"refs/heads/main","repository":null}`, true},
		{"push", "application/json", `{"ref":42}`, true},
		{"push", "application/json", `[]`, true},
		{"push", "application/json", ``, true},
		{"push", "multipart/form-data; boundary=x", "--x--", true},
		{"push", ";;;", "{}", true},
		{"pull_request", "application/json", string(prPayload("opened", "main", nil)), true},
		{"pull_request", "application/json", string(prPayload("closed", "main", nil)), true},
		{"pull_request", "application/json", string(prPayload("edited", "main", retarget)), true},
		{"pull_request", "application/json", string(prPayload("synchronize", "release", nil)), true},
		{"pull_request", "application/json", `{"action":"opened","number":-1,"pull_request":{}}`, true},
		{"pull_request", "application/json", `{"action":"opened","pull_request":{"number":1,"head":{"sha":"zz"}}}`, true},
		{"ping", "application/json", `{"zen":"Design for failure."}`, true},
		{"issues", "application/json", `{}`, true},
		{"push", "application/json", string(pushPayload("refs/heads/main")), false},
		{"", "", "\x00\xff", false},
	} {
		f.Add(seed.event, seed.contentType, seed.body, seed.signed)
	}

	secretFile := writeSecret(f)
	src := newSource(f, "https://github.com/example/fleet.git", "main")
	f.Fuzz(func(t *testing.T, event, contentType, body string, isSigned bool) {
		before := src.n.Load()
		prs := &recordingPRs{}
		opts := DefaultRouterOptions()
		opts.SecretFile = secretFile
		rt, err := NewRouter(opts, RouterDeps{Sources: []Source{src}, PullRequests: prs})
		if err != nil {
			t.Fatal(err)
		}
		req := hookRequest("POST", event, []byte(body), "")
		req.Header.Set("Content-Type", contentType)
		if isSigned {
			req.Header.Set("X-Hub-Signature-256", sign([]byte(body), testSecret))
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for event %q, content type %q", rec.Code, event, contentType)
		}
		var rep reply
		if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
			t.Fatalf("reply %q is not JSON: %v", rec.Body, err)
		}
		if !isSigned && rec.Code != http.StatusUnauthorized {
			t.Fatalf("unsigned request got %d", rec.Code)
		}
		planned, forgot := prs.calls()
		acted := map[string]int{"triggered": int(src.n.Load() - before), "planned": len(planned), "forgotten": len(forgot)}
		for result, n := range acted {
			if (rep.Result == result) != (n > 0) || n > 1 {
				t.Fatalf("answered %d %s, but %d %s", rec.Code, rep.Result, n, result)
			}
		}
		for _, pr := range planned {
			if pr.Number <= 0 || !isSHA(pr.HeadSHA) || pr.BaseRef == "" {
				t.Fatalf("planned a pull request the payload did not describe: %+v", pr)
			}
		}
	})
}
