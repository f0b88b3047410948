package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// fakeCommander records the commands it gets and answers as told.
type fakeCommander struct {
	got []string
	err error
}

func (f *fakeCommander) Promote(_ context.Context, name string) (string, error) {
	f.got = append(f.got, "promote "+name)
	return "promoted", f.err
}

func (f *fakeCommander) Rollback(_ context.Context, name string) (string, error) {
	f.got = append(f.got, "rollback "+name)
	return "switched to blue", f.err
}

// TestCommandEndpointsNeedTheToken checks who may promote and roll back:
// nobody without a token configured (403), not a wrong or missing bearer
// token (401), and the right one.
func TestCommandEndpointsNeedTheToken(t *testing.T) {
	tests := []struct {
		name, token, auth string
		err               error
		leading           bool
		want              int
		wantCalls         int
	}{
		{name: "no token configured", token: "", auth: "Bearer secret", want: http.StatusForbidden},
		{name: "no header", token: "secret", want: http.StatusUnauthorized},
		{name: "wrong token", token: "secret", auth: "Bearer nope", want: http.StatusUnauthorized},
		{name: "basic auth", token: "secret", auth: "Basic c2VjcmV0", want: http.StatusUnauthorized},
		{name: "right token", token: "secret", auth: "Bearer secret", want: http.StatusOK, wantCalls: 1},
		{name: "not blue/green", token: "secret", auth: "Bearer secret", err: reconcile.ErrNotBlueGreen, want: http.StatusConflict, wantCalls: 1},
		{name: "unknown installation", token: "secret", auth: "Bearer secret", err: fmt.Errorf("x: %w", reconcile.ErrNotReconciled), leading: true, want: http.StatusNotFound, wantCalls: 1},
		{name: "not in the fleet", token: "secret", auth: "Bearer secret", err: fmt.Errorf("%w x in gitopsd.yaml", reconcile.ErrNoInstallation), want: http.StatusNotFound, wantCalls: 1},
		{name: "standby replica", token: "secret", auth: "Bearer secret", err: fmt.Errorf("x: %w", reconcile.ErrNotReconciled), want: http.StatusServiceUnavailable, wantCalls: 1},
		{name: "nothing to promote", token: "secret", auth: "Bearer secret", err: errors.New("nothing to promote"), want: http.StatusConflict, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCommander{err: tt.err}
			mux := http.NewServeMux()
			registerCommands(mux, c, tt.token, func() bool { return tt.leading })
			for _, cmd := range []string{"promote", "rollback"} {
				req := httptest.NewRequest(http.MethodPost, "/api/v1/installations/checkout/"+cmd, nil)
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != tt.want {
					t.Errorf("%s: status %d, want %d; body %s", cmd, rec.Code, tt.want, rec.Body)
				}
				var reply commandReply
				if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.Installation != "checkout" || reply.Command != cmd {
					t.Errorf("%s: reply %s (%v)", cmd, rec.Body, err)
				}
				if tt.want == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", cmd)
				}
			}
			if len(c.got) != 2*tt.wantCalls {
				t.Errorf("commands done: %v", c.got)
			}
		})
	}
	// Reading the installations needs no token; a GET of a command is not one.
	mux := http.NewServeMux()
	registerCommands(mux, &fakeCommander{}, "secret", func() bool { return true })
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/installations/checkout/rollback", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET rollback: %d", rec.Code)
	}
}

// TestRollbackCommandSendsToken runs `gitopsd rollback` against a daemon's
// endpoints: the token goes as a bearer token, flags may follow the name,
// and the daemon's refusal is the command's error.
func TestRollbackCommandSendsToken(t *testing.T) {
	c := &fakeCommander{}
	mux := http.NewServeMux()
	registerCommands(mux, c, "secret", func() bool { return true })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("guess\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"rollback", "checkout", "--server", srv.URL, "--api-token-file", good}, &out, &errOut); err != nil {
		t.Fatalf("rollback: %v (%s)", err, errOut.String())
	}
	if got := out.String(); got != "checkout: switched to blue\n" || len(c.got) != 1 || c.got[0] != "rollback checkout" {
		t.Errorf("output %q, commands %v", got, c.got)
	}
	err := Main(context.Background(), []string{"promote", "--server", srv.URL, "--api-token-file", bad, "checkout"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("promote with a wrong token: %v", err)
	}
	err = Main(context.Background(), []string{"promote", "--server", srv.URL}, &out, &errOut)
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 2 {
		t.Errorf("promote without a name: %v", err)
	}
}

// TestStatusShowsColours prints, as `gitopsd status` does, a line per
// blue/green installation from the status API's JSON: live colour and
// commit, idle colour, the cutover's phase, step and what it waits for,
// however long the line.
func TestStatusShowsColours(t *testing.T) {
	body := `[{"name":"plain","path":"p","phase":"Ready"},
	 {"name":"checkout","path":"apps/checkout","phase":"Held","blueGreen":{"live":"blue","liveCommit":"0123456789abcdef","idle":"green",
	  "phase":"Held","step":"Switch","cutover":{"number":3,"commit":"fedcba9876543210","to":"green","step":"Switch",
	  "reason":"checkout-green is ready; the switch waits for gitopsd promote checkout (autoPromote: false)","events":[]}}},
	 {"name":"fresh","path":"f","phase":"Ready","blueGreen":{"idle":"blue"}},
	 {"name":"long-installation-name","path":"l","phase":"Ready","blueGreen":{"live":"green","liveCommit":"e4a77186dde7e4a7","idle":"blue",
	  "phase":"Succeeded","step":"Keep","cutover":{"number":12,"commit":"e4a77186dde7e4a7","to":"green","step":"Keep",
	  "events":[{"step":"Keep","message":"switched Service(s) long-installation-name, long-installation-name-admin to green; long-installation-name-blue kept until 2026-11-30T15:57:32Z"}]}}}]`
	var installations []reconcile.InstallationStatus
	if err := json.Unmarshal([]byte(body), &installations); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printBlueGreen(&out, installations)
	want := "checkout: blue/green: live blue (commit 0123456789ab), idle green; cutover #3 of fedcba987654: Held at step Switch: " +
		"checkout-green is ready; the switch waits for gitopsd promote checkout (autoPromote: false)\n" +
		"fresh: blue/green: live a plain Deployment, idle blue\n" +
		"long-installation-name: blue/green: live green (commit e4a77186dde7), idle blue; cutover #12 of e4a77186dde7: Succeeded at step Keep: " +
		"switched Service(s) long-installation-name, long-installation-name-admin to green; long-installation-name-blue kept until 2026-11-30T15:57:32Z\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	if installations[1].BlueGreen.Step != bluegreen.StepSwitch {
		t.Errorf("step %q", installations[1].BlueGreen.Step)
	}
}
