package main

import (
	"strings"
	"testing"
	"time"
)

// TestReportTargets checks that the report judges the slowest round
// against the 1 s targets.
func TestReportTargets(t *testing.T) {
	r := &Report{Options: Options{Rounds: 2, Replicas: 3, Services: 3}, Rounds: []Round{
		{Switch: 200 * time.Millisecond, Rollback: 150 * time.Millisecond, Traffic: 300 * time.Millisecond},
		{Switch: 1200 * time.Millisecond, Rollback: 180 * time.Millisecond, Traffic: 400 * time.Millisecond},
	}}
	md := r.Markdown()
	for _, want := range []string{
		"# Cutover benchmark\n",
		"| idle colour available → every Service switched | 2 |",
		"switched < 1 s (slowest round) | 1.20 s | **not met** |",
		"(slowest round, Services switched) | 180 ms | **met** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
