package main

import (
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
)

func TestTally(t *testing.T) {
	reads, writes, dryRuns := tally([]string{
		"GET /api/v1/namespaces/a/configmaps/x?",
		"GET /api/v1/configmaps?labelSelector=a%3Db",
		"PATCH /api/v1/namespaces/a/configmaps/x?dryRun=All&fieldManager=f&force=true",
		"PATCH /api/v1/namespaces/a/configmaps/x?fieldManager=f&force=true",
		"PUT /api/v1/namespaces/s/configmaps/inv?",
	})
	if reads != 2 || writes != 2 || dryRuns != 1 {
		t.Errorf("tally = %d reads, %d writes, %d dry runs; want 2, 2, 1", reads, writes, dryRuns)
	}
}

func TestMedian(t *testing.T) {
	r := Result{Samples: []Sample{
		{Elapsed: 30 * time.Millisecond, Reads: 9},
		{Elapsed: 10 * time.Millisecond, Reads: 8},
		{Elapsed: 20 * time.Millisecond, Reads: 8, Writes: 1},
	}}
	want := Sample{Elapsed: 20 * time.Millisecond, Reads: 8}
	if got := r.Median(); got != want {
		t.Errorf("Median = %+v, want %+v", got, want)
	}
	if got := median([]int64{4, 1, 3, 2}); got != 2 {
		t.Errorf("median of four = %d, want 2", got)
	}
}

func sample(ms, reads, writes, dryRuns int) []Sample {
	return []Sample{{Elapsed: time.Duration(ms) * time.Millisecond, Reads: reads, Writes: writes, DryRuns: dryRuns}}
}

func TestReportRatiosAndTargets(t *testing.T) {
	r := &Report{Reps: 1, Results: []Result{
		{N: 5000, Scenario: Cold, Engine: "gitopsd", Samples: sample(2000, 10, 5002, 0)},
		{N: 5000, Scenario: Cold, Engine: "flux", Samples: sample(8000, 5000, 5000, 5000)},
		{N: 5000, Scenario: Cold, Engine: "limit", Samples: sample(1600, 0, 5000, 0)},
		{N: 5000, Scenario: NoOp, Engine: "gitopsd", Samples: sample(150, 9, 0, 0)},
		{N: 5000, Scenario: NoOp, Engine: "flux", Samples: sample(3000, 5000, 0, 5000)},
	}}
	fast := &Report{Reps: 1, Results: []Result{
		{N: 5000, Scenario: Cold, Engine: "gitopsd", Samples: sample(2000, 10, 5002, 0)},
		{N: 5000, Scenario: NoOp, Engine: "gitopsd", Samples: sample(50, 9, 0, 0)},
	}}
	for _, tg := range fast.Targets() {
		if tg.Goal == "no-op < 100 ms" && (tg.Met == nil || !*tg.Met || tg.Measured != "50 ms") {
			t.Errorf("a 50 ms no-op after a 2 s cold apply: %+v", tg)
		}
	}
	table := r.Table()
	for _, want := range []string{
		"| 5000 | cold apply | flux | 8.00 s | 8.00 s–8.00 s | 5000 | 5000 | 5000 | 15000 | 0.25× | 0.33× |",
		"| 5000 | no-op re-apply | flux | 3.00 s | 3.00 s–3.00 s | 5000 | 0 | 5000 | 10000 | 0.05× (1/20) | 0.0009× (1/1111) |",
		"| 5000 | no-op re-apply | gitopsd | 150 ms | 150 ms–150 ms | 9 | 0 | 0 | 9 | — | — |",
		"| 5000 | cold apply | limit | 1.60 s | 1.60 s–1.60 s | 0 | 5000 | 0 | 5000 | 1.25× | 1.00× |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks row\n%s\nin\n%s", want, table)
		}
	}
	met := map[string]bool{}
	for _, tg := range r.Targets() {
		if tg.Met == nil {
			t.Fatalf("target %q not evaluated", tg.Goal)
		}
		met[tg.Goal] = *tg.Met
	}
	want := map[string]bool{
		"cold apply ≤ 0.5× Flux's time":      true,
		"cold apply ≤ 1.2× the limit's time": false,
		"no-op ≤ 1/20 of Flux's requests":    true,
		"no-op writes nothing":               true,
		"no-op < 100 ms":                     false,
	}
	for goal, w := range want {
		if got, ok := met[goal]; !ok || got != w {
			t.Errorf("target %q met = %v (evaluated %v), want %v", goal, got, ok, w)
		}
	}
}

func TestBesideTable(t *testing.T) {
	r := &Report{Reps: 1, Results: []Result{
		{N: 1000, Scenario: Cold, Engine: "gitopsd", Samples: sample(1100, 9, 1002, 0)},
		{N: 1000, Scenario: Cold, Engine: "flux", Samples: sample(3300, 1000, 1000, 1000)},
		{N: 1000, Scenario: Cold, Engine: "limit", Samples: sample(1000, 0, 1000, 0)},
		{N: 1000, Scenario: NoOp, Engine: "gitopsd", Samples: sample(20, 9, 0, 0)},
		{N: 1000, Scenario: NoOp, Engine: "flux", Samples: sample(2000, 1000, 0, 1000)},
	}}
	table := r.BesideTable()
	for _, want := range []string{
		"| 1000 | cold apply | 1.10 s | 1.00 s | 3.30 s | 1.10× | 0.33× | 1011 | 1000 | 3000 |",
		"| 1000 | no-op re-apply | 20 ms | — | 2.00 s | — | 0.01× (1/100) | 9 | — | 2000 |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks row\n%s\nin\n%s", want, table)
		}
	}
	if strings.Contains(table, "one object changed") {
		t.Errorf("a row for a scenario gitopsd did not run:\n%s", table)
	}
}

func TestObjectPath(t *testing.T) {
	for _, tc := range []struct {
		kind, ns, want string
	}{
		{"Namespace", "", "/api/v1/namespaces/a"},
		{"ConfigMap", "a", "/api/v1/namespaces/a/configmaps/x"},
		{"Deployment", "a", "/apis/apps/v1/namespaces/a/deployments/x"},
		{"RoleBinding", "a", "/apis/rbac.authorization.k8s.io/v1/namespaces/a/rolebindings/x"},
	} {
		name := "x"
		if tc.kind == "Namespace" {
			name = "a"
		}
		if got := objectPath(objects.Resources[tc.kind], tc.ns, name); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.kind, got, tc.want)
		}
	}
}

func TestTargetsWithoutFlux(t *testing.T) {
	r := &Report{Results: []Result{{N: 1000, Scenario: Cold, Engine: "gitopsd", Samples: sample(1, 1, 1, 0)}}}
	for _, tg := range r.Targets() {
		if tg.Goal == "cold apply ≤ 0.5× Flux's time" && tg.Met != nil {
			t.Errorf("cold target evaluated without Flux: %+v", tg)
		}
	}
	if !strings.Contains(r.TargetTable(), "not measured") {
		t.Errorf("target table does not say what was not measured:\n%s", r.TargetTable())
	}
}
