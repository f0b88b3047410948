package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/requests"
)

func sampleReport() *Report {
	return &Report{
		Build:           "built from this repository at 00bece8",
		PerInstallation: 1000,
		Results: []Result{
			{
				N: 5000, Installations: 5, Kinds: 8, Interval: 30 * time.Second, Window: 3 * time.Minute,
				InitialSync: 9 * time.Second, SlowestApply: 4 * time.Second, Sync: requests.Counts{{Verb: requests.Get, Resource: "configmaps"}: 100, {Verb: requests.List, Resource: "configmaps"}: 18, {Verb: requests.Patch, Resource: "configmaps"}: 5017}, Settled: 2 * time.Second,
				Reconciles: 30,
				Requests:   requests.Counts{{Verb: requests.Get, Resource: "configmaps"}: 30, {Verb: requests.List, Resource: "configmaps"}: 18, {Verb: requests.List, Resource: "secrets"}: 240, {Verb: requests.Watch, Resource: "secrets"}: 2},
				Plane:      requests.Counts{{Verb: requests.Update, Resource: "endpoints"}: 18, {Verb: requests.Discovery, Resource: "/openapi/v3"}: 36},
				Ready:      Memory{HWM: 120 << 20}, End: Memory{RSS: 100 << 20, HWM: 110 << 20, Anon: 40 << 20, File: 60 << 20},
				HeapInUse: 30 << 20, Goroutines: 95,
			},
			{
				N: 10000, Installations: 10, Kinds: 8, Interval: 30 * time.Second, Window: 3 * time.Minute,
				Settled: settleTimeout, Reconciles: 60,
				Requests: requests.Counts{{Verb: requests.List, Resource: "secrets"}: 900, {Verb: requests.Patch, Resource: "configmaps"}: 1, {Verb: requests.DryRun, Resource: "configmaps"}: 3},
				Ready:    Memory{HWM: 140 << 20}, End: Memory{RSS: 130 << 20, HWM: 160 << 20},
			},
		},
		Flux: []FluxInterval{{N: 5000, Reads: 5002, DryRuns: 5000, Requests: 10002}},
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
		"requests per periodic reconcile ≤ 2 per kind (16) @5000":  true, // 290/30 = 9.7
		"requests per periodic reconcile ≤ 2 per kind (16) @10000": true, // 904/60 = 15.1
		"no writes and no dry runs at rest @5000":                  true,
		"no writes and no dry runs at rest @10000":                 false,
		"VmHWM < 150 MiB, periodic reconciles included @10000":     false, // 160 MiB after Ready
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

func TestPeakTarget(t *testing.T) {
	r := &Report{Results: []Result{{N: 10000, Installations: 10, Kinds: 8, Reconciles: 5, Ready: Memory{HWM: 100 << 20}, End: Memory{HWM: 90 << 20}}}}
	for _, tg := range r.Targets() {
		if strings.HasPrefix(tg.Goal, "VmHWM") && (tg.Met == nil || *tg.Met) {
			t.Errorf("a window with fewer reconciles than installations meets the memory target: %+v", tg)
		}
	}
	r = &Report{Results: []Result{{N: 5000, Reconciles: 1}}}
	if md := r.Markdown(); !strings.Contains(md, "| 10000 | VmHWM < 150 MiB, periodic reconciles included | — | not measured |") {
		t.Errorf("report:\n%s", md)
	}
}

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"# Steady-state benchmark\n",
		"The real `gitopsd run` (built from this repository at 00bece8) follows",
		// per reconcile, by verb: get, list, watch, create, update, patch, delete, dry run, discovery, other, all
		"| 5000 | 5 | 8 | 30 | 1.0 | 8.6 | 0.1 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 9.7 |",
		"| 5000 | gitopsd | 3m0s | 30 | 258 | 2 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 290 |",
		"| 5000 | idle plane (taken off) | 3m0s | 0 | 0 | 0 | 0 | 18 | 0 | 0 | 0 | 36 | 0 | 54 |",
		// 290 requests in 3m is 48 per 30s interval
		"| 5000 | gitopsd (5 installations) | 30s | 48 | 0.010 | 48 | 0 | 0 | — |",
		"| 5000 | list | secrets | 240 | 8.0 |\n| 5000 | get | configmaps | 30 | 1.0 |\n| 5000 | list | configmaps | 18 | 0.6 |\n| 5000 | watch | secrets | 2 | 0.1 |\n| 10000 | list | secrets | 900 | 15.0 |",
		"| 5000 | Flux (one Kustomization) | any | 10002 | 2.000 | 5002 | 0 | 5000 | 0.0048× (1/207) |",
		"| 10000 | Flux | any | not measured |",
		"| 5000 | 5 | 9.00 s | 4.00 s | 118 | 5017 | 0 | 2.00 s |",
		"not within 1m0s |",
		"| 5000 | 120.0 MiB | 120.0 MiB | 110.0 MiB | 100.0 MiB | 40.0 MiB | 60.0 MiB | 30.0 MiB | 95 |",
		"| 10000 | 160.0 MiB | 140.0 MiB | 160.0 MiB |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "\n# ") != 0 {
		t.Error("the report has a second level-one heading; RESULTS.md sections would split")
	}
}
