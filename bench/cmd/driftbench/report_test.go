package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 100; i >= 1; i-- {
		xs = append(xs, ms(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, ms(50)}, {99, ms(99)}, {100, ms(100)}, {1, ms(1)}} {
		if got := Percentile(xs, tc.p); got != tc.want {
			t.Errorf("p%v = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := Percentile([]time.Duration{ms(7)}, 99); got != ms(7) {
		t.Errorf("p99 of one = %s", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %s", got)
	}
	if xs[0] != ms(100) {
		t.Error("Percentile sorted its argument")
	}
}

func sampleReport() *Report {
	lat := LatencyResult{N: 1000}
	for i := range 10 {
		lat.Samples = append(lat.Samples, LatencySample{What: changeKinds[i%len(changeKinds)].what, Latency: ms(10 * (i + 1))})
	}
	slow := LatencyResult{N: 5000, Samples: []LatencySample{{What: changeKinds[0].what, Latency: 2 * time.Second}, {What: changeKinds[1].what, Missed: true}}, Spurious: 1}
	return &Report{
		Changes: 10,
		Latency: []LatencyResult{lat, slow},
		Reconcile: []ReconcileResult{
			{N: 1000, Drifted: 8, Apply: RequestCounts{Reads: 9}, Checks: RequestCounts{Reads: 8, Writes: 8}, ChecksTook: ms(40)},
			{N: 5000, Drifted: 8, Apply: RequestCounts{Reads: 9}, Checks: RequestCounts{Reads: 5000, Writes: 4992}, ChecksTook: checksTimeout},
		},
		Quiet: []QuietResult{
			{N: 1000, Window: 30 * time.Second, Requests: RequestCounts{Watches: 1}},
			{N: 5000, Window: 30 * time.Second, Requests: RequestCounts{Reads: 2}, Reads: []string{"GET /api/v1/configmaps?", "GET /api/v1/secrets?"}},
		},
	}
}

func TestTargets(t *testing.T) {
	got := map[string]bool{}
	for _, tg := range sampleReport().Targets() {
		if tg.Met == nil {
			t.Fatalf("%d %q not evaluated", tg.N, tg.Goal)
		}
		got[tg.Goal+" @"+strconv.Itoa(tg.N)] = *tg.Met
	}
	want := map[string]bool{
		"every change reported, nothing else @1000":           true,
		"p99 detection < 1 s @1000":                           true,
		"every change reported, nothing else @5000":           false,
		"p99 detection < 1 s @5000":                           false,
		"a no-op reconcile checks only drifted objects @1000": true,
		"a no-op reconcile checks only drifted objects @5000": false,
		"no object reads while nothing changes @1000":         true,
		"no object reads while nothing changes @5000":         false,
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: met = %v (evaluated %v), want %v", k, g, ok, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("targets %v", got)
	}
}

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"# Drift benchmark\n",
		"| 1000 | **all** | 10 | 50 ms | 100 ms | 100 ms | 0 |",
		"| 5000 | **all** | 2 | 2.00 s | 2.00 s | 2.00 s | 1 |",
		"| 1000 | 30s | 0 | 1 | 0 | 0.0 | 2.0 | 0 |",
		"- 5000 objects: `GET /api/v1/secrets?`",
		"| 5000 | 8 | 9 | 0 | 5000 | 4992 | not within 5m0s |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "\n# ") != 0 {
		t.Error("the report has a second level-one heading; RESULTS.md sections would split")
	}
}
