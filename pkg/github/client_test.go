package github

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var ctx = context.Background()

func sha(i int) string { return fmt.Sprintf("%040x", i) }

// newFake starts a githubtest server for one test.
func newFake(t *testing.T) *githubtest.Server {
	t.Helper()
	srv := githubtest.NewServer(githubtest.Options{})
	t.Cleanup(srv.Close)
	return srv
}

// newClient builds a client of srv with a token file, no write spacing and
// a short merge wait; change adjusts the options.
func newClient(t *testing.T, srv *githubtest.Server, change func(*Options)) (*Client, *prometheus.Registry) {
	t.Helper()
	opts := DefaultOptions()
	opts.APIURL, opts.Repository = srv.URL, srv.Repository()
	opts.TokenFile = writeFile(t, "token", srv.Token()+"\n")
	opts.WriteSpacing, opts.MergeWait, opts.MergePoll = 0, 300*time.Millisecond, 50*time.Millisecond
	if change != nil {
		change(&opts)
	}
	reg := prometheus.NewRegistry()
	c, err := NewClient(opts, Deps{Registerer: reg})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, reg
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// metric reads one series of a gathered family; labels are name=value pairs.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue series
				}
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// countRequests counts the fake's requests with this method and path suffix.
func countRequests(srv *githubtest.Server, method, pathSuffix string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			n++
		}
	}
	return n
}

func TestOptionsValidate(t *testing.T) {
	base := DefaultOptions()
	base.Repository, base.TokenFile = "example/fleet", "token"
	if err := base.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"plain http to a remote host", func(o *Options) { o.APIURL = "http://github.example/api/v3/" }, "in clear"},
		{"credentials in the URL", func(o *Options) { o.APIURL = "https://user:pw@github.example/" }, "without credentials"},
		{"repository without owner", func(o *Options) { o.Repository = "fleet" }, "OWNER/NAME"},
		{"two token sources", func(o *Options) { o.TokenEnv = "GITHUB_TOKEN" }, "exactly one"},
		{"no token source", func(o *Options) { o.TokenFile = "" }, "exactly one"},
		{"zero timeout", func(o *Options) { o.Timeout = 0 }, "timeout"},
	} {
		o := base
		tc.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestTokenFromEnvironmentAndEnterpriseURL(t *testing.T) {
	srv := newFake(t)
	t.Setenv("GITOPSD_TEST_GITHUB_TOKEN", srv.Token())
	c, _ := newClient(t, srv, func(o *Options) {
		o.APIURL = strings.TrimSuffix(srv.URL, "/") + "/api/v3" // GitHub Enterprise Server, slash added
		o.TokenFile, o.TokenEnv = "", "GITOPSD_TEST_GITHUB_TOKEN"
	})
	if _, err := c.SetStatus(ctx, Status{SHA: sha(1), Context: "gitopsd/plan", State: Pending}); err != nil {
		t.Fatalf("SetStatus through /api/v3/: %v", err)
	}
	if got := srv.Requests(); len(got) == 0 || got[0].Status == 401 {
		t.Fatalf("requests %+v", got)
	}
	opts := DefaultOptions()
	opts.Repository, opts.TokenEnv = "example/fleet", "GITOPSD_TEST_GITHUB_TOKEN_UNSET"
	if _, err := NewClient(opts, Deps{}); err == nil || !strings.Contains(err.Error(), "GITOPSD_TEST_GITHUB_TOKEN_UNSET") {
		t.Fatalf("NewClient with an unset variable = %v", err)
	}
}

// TestTokenFileRotation: a token file rewritten in place (a rotated
// Secret) is used from the next request on, without a restart.
func TestTokenFileRotation(t *testing.T) {
	srv := newFake(t)
	c, reg := newClient(t, srv, func(o *Options) { o.TokenFile = writeFile(t, "token", "expired-token\n") })
	st := Status{SHA: sha(1), Context: "gitopsd/plan", State: Pending}
	if _, err := c.SetStatus(ctx, st); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("SetStatus with a wrong token = %v, want a 401", err)
	}
	if err := os.WriteFile(c.opts.TokenFile, []byte(srv.Token()+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if posted, err := c.SetStatus(ctx, st); err != nil || !posted {
		t.Fatalf("SetStatus after rotation = %v, %v", posted, err)
	}
	if got := metric(t, reg, "gitopsd_github_requests_total", "code", "401"); got != 1 {
		t.Fatalf("requests_total{code=401} = %v, want 1", got)
	}
}
