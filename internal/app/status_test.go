package app

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
	s := &statusResponse{Leading: true, Status: reconcile.Status{
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
	printStatus(&out, s, now)
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
