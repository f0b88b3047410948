package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 20; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, time.Millisecond}, {50, 10 * time.Millisecond}, {99, 20 * time.Millisecond}, {100, 20 * time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%.0f = %s, want %s", tc.p, got, tc.want)
		}
	}
}

func TestMarkdownSaysWhetherTheTargetIsMet(t *testing.T) {
	r := &Report{Options: Options{Installations: 5, Objects: 100, Pushes: 2}, Pushes: []Push{
		{Latency: 300 * time.Millisecond, Requests: ServerCounts{Reads: 103, DryRuns: 100}},
		{Latency: 1500 * time.Millisecond, Requests: ServerCounts{Reads: 105, DryRuns: 100}},
	}, Flux: FluxDiff{All: FluxRun{Objects: 500, Requests: 1000}, Affected: FluxRun{Objects: 100, Requests: 200}}}
	md := r.Markdown()
	for _, part := range []string{
		"| webhook → status, 2 pushes | 300 ms | 1.50 s | 300 ms | 1.50 s |",
		"| gitopsd (median per push) | 100 | 105 | 100 | 0 | 205 | 300 ms |",
		"| 500 | webhook → status p50 < 1 s | 300 ms | **met** |",
		"| 500 | requests per plan ≤ flux diff of every installation | 205 vs 1000: 0.20× | **met** |",
	} {
		if !strings.Contains(md, part) {
			t.Errorf("no %q in:\n%s", part, md)
		}
	}
}
