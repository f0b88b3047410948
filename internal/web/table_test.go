package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// TestStatusPrintsProblems prints a status with every kind of trouble the
// daemon reports outside the installations' rows.
func TestStatusPrintsProblems(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	since := now.Add(-90 * time.Second)
	s := &Status{Leading: true, Status: reconcile.Status{
		Commit:      "0123456789abcdef",
		ConfigError: "gitopsd.yaml is missing, but the repository had one listing [a b]",
		Cluster:     &reconcile.ClusterStatus{Error: "the API server does not answer: connection refused", Since: &since},
		DriftError:  "drift detection stopped: boom",
		Installations: []reconcile.InstallationStatus{{
			Name: "a", Phase: reconcile.Failed, Message: "1 object(s) deleted in the cluster and not put back",
			DriftProblems: []string{"Widget.example.com not watched for drift: no such kind"},
		}},
	}}
	var out bytes.Buffer
	s.WriteTable(&out, now)
	for _, want := range []string{
		"configuration error at 0123456789ab: gitopsd.yaml is missing",
		"cluster unreachable for 1m30s (since 2026-11-30T11:58:30Z): the API server does not answer: connection refused",
		"drift detection stopped: boom",
		"a: drift not seen: Widget.example.com not watched for drift: no such kind",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSourceLine renders the source part of `gitopsd status`.
func TestSourceLine(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	for _, tc := range []struct {
		src  SourceStatus
		want string
	}{
		{SourceStatus{URL: "https://example.com/fleet.git", Ref: "main", Commit: "0123456789abcdef"},
			"repository https://example.com/fleet.git @ main: commit 0123456789ab"},
		{SourceStatus{URL: "u", Ref: "main", PollingSince: at(42 * time.Second)},
			"repository u @ main: commit -; looking at the repository for 42s (since 2026-11-30T11:59:18Z)"},
		{SourceStatus{URL: "u", Ref: "main", Commit: "abc", LastError: "poll u: timed out after 1m0s", LastErrorTime: at(time.Minute), FailingSince: at(5 * time.Minute), ConsecutiveFailures: 3, PollingSince: at(10 * time.Second)},
			"repository u @ main: commit abc; looking at the repository for 10s (since 2026-11-30T11:59:50Z); failing for 5m0s (since 2026-11-30T11:55:00Z), 3 round(s): poll u: timed out after 1m0s"},
	} {
		var out bytes.Buffer
		(&Status{Source: &tc.src, Leading: true}).WriteTable(&out, now)
		if got, _, _ := strings.Cut(out.String(), "\n"); got != tc.want {
			t.Errorf("source line\n got %s\nwant %s", got, tc.want)
		}
	}
}
