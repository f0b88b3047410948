package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/results"
)

// latencyTarget: DESIGN.md says anyone who edits a managed object by hand
// sees gitopsd notice within a second.
const latencyTarget = time.Second

// Report is what a run measured, and where.
type Report struct {
	results.Machine
	Changes int

	Latency   []LatencyResult
	Reconcile []ReconcileResult
	Quiet     []QuietResult
}

// Target is one goal the run is checked against.
func verdict(met bool) *bool { return &met }

// Percentile is the p-th percentile (0 < p ≤ 100) of xs by nearest rank.
func Percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs))
	rank := int(float64(len(xs))*p/100+0.9999999) - 1
	return xs[min(max(rank, 0), len(xs)-1)]
}

// LatencyStats sums up samples.
type LatencyStats struct {
	Count, Missed int
	P50, P99, Max time.Duration
}

func statsOf(samples []LatencySample) LatencyStats {
	s := LatencyStats{Count: len(samples)}
	var xs []time.Duration
	for _, x := range samples {
		if x.Missed {
			s.Missed++
			continue
		}
		xs = append(xs, x.Latency)
	}
	s.P50, s.P99, s.Max = Percentile(xs, 50), Percentile(xs, 99), Percentile(xs, 100)
	return s
}

// LatencyTable has, per size, a row per kind of change and one for all.
func (r *Report) LatencyTable() string {
	var b strings.Builder
	b.WriteString("| objects | change | changes | p50 | p99 | max | missed |\n|---:|---|---:|---:|---:|---:|---:|\n")
	row := func(n int, what string, s LatencyStats) {
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %s | %s | %d |\n", n, what, s.Count,
			results.FormatDuration(s.P50), results.FormatDuration(s.P99), results.FormatDuration(s.Max), s.Missed)
	}
	for _, res := range r.Latency {
		for _, k := range changeKinds {
			var of []LatencySample
			for _, s := range res.Samples {
				if s.What == k.what {
					of = append(of, s)
				}
			}
			if len(of) > 0 {
				row(res.N, k.what, statsOf(of))
			}
		}
		row(res.N, "**all**", statsOf(res.Samples))
	}
	return b.String()
}

// QuietTable has a row per size, and lists any object read.
func (r *Report) QuietTable() string {
	var b strings.Builder
	b.WriteString("| objects | window | object reads (GET, LIST) | watches opened | writes and dry runs | object reads per minute | watches per minute | drift reports |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var reads []string
	for _, q := range r.Quiet {
		c := q.Requests
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %d | %.1f | %.1f | %d |\n", q.N, q.Window, c.Reads, c.Watches, c.Writes,
			PerMinute(c.Reads, q.Window), PerMinute(c.Watches, q.Window), q.Reports)
		for _, line := range q.Reads[:min(len(q.Reads), 5)] {
			reads = append(reads, fmt.Sprintf("- %d objects: `%s`", q.N, line))
		}
	}
	if len(reads) > 0 {
		b.WriteString("\nObject reads in the window (at most five per size):\n\n" + strings.Join(reads, "\n") + "\n")
	}
	return b.String()
}

// ReconcileTable has a row per size.
func (r *Report) ReconcileTable() string {
	var b strings.Builder
	b.WriteString("| objects | drifted before | apply: reads | apply: writes | checks after Track: reads | checks after Track: dry runs | checks done after |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Reconcile {
		took := results.FormatDuration(c.ChecksTook)
		if c.ChecksTook >= checksTimeout {
			took = "not within " + checksTimeout.String()
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %s |\n", c.N, c.Drifted, c.Apply.Reads+c.Apply.Watches, c.Apply.Writes,
			c.Checks.Reads, c.Checks.Writes, took)
	}
	return b.String()
}

// Targets checks the run against the goals: every change reported and
// nothing else, p99 under a second, and no object reads while nothing
// changes.
func (r *Report) Targets() []results.Target {
	var targets []results.Target
	for _, res := range r.Latency {
		s := statsOf(res.Samples)
		targets = append(targets,
			results.Target{N: res.N, Goal: "every change reported, nothing else",
				Measured: fmt.Sprintf("%d of %d reported, %d unchanged objects reported", s.Count-s.Missed, s.Count, res.Spurious),
				Met:      verdict(s.Missed == 0 && res.Spurious == 0)},
			results.Target{N: res.N, Goal: "p99 detection < 1 s",
				Measured: results.FormatDuration(s.P99), Met: verdict(s.Missed == 0 && s.P99 < latencyTarget)})
	}
	for _, c := range r.Reconcile {
		targets = append(targets, results.Target{N: c.N, Goal: "a no-op reconcile checks only drifted objects",
			Measured: fmt.Sprintf("%d dry runs, %d objects drifted", c.Checks.Writes, c.Drifted), Met: verdict(c.Checks.Writes <= c.Drifted)})
	}
	for _, q := range r.Quiet {
		targets = append(targets, results.Target{N: q.N, Goal: "no object reads while nothing changes",
			Measured: fmt.Sprintf("%d in %s", q.Requests.Reads, q.Window), Met: verdict(q.Requests.Reads == 0)})
	}
	return targets
}

// TargetTable is the targets as a Markdown table.
func (r *Report) TargetTable() string {
	return results.TargetTable(r.Targets())
}

// Markdown is the whole report: where and how it was measured, a table
// per measurement, and the targets.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString(r.Header("Drift benchmark", "`make bench` (flags: `make bench DRIFT_BENCH_FLAGS='-n 1000 -changes 50'`)"))
	b.WriteString(driftMethod(r.Changes))
	if len(r.Latency) > 0 {
		b.WriteString("\n## Detection latency\n\n" + r.LatencyTable())
	}
	if len(r.Reconcile) > 0 {
		b.WriteString("\n## Requests of a no-op reconcile\n\n" + r.ReconcileTable())
	}
	if len(r.Quiet) > 0 {
		b.WriteString("\n## API requests while nothing changes\n\n" + r.QuietTable())
	}
	b.WriteString("\n## Drift targets\n\n" + r.TargetTable())
	return b.String()
}

// driftMethod says what was run and how it was measured.
func driftMethod(changes int) string {
	var kinds []string
	for _, k := range changeKinds {
		kinds = append(kinds, "  - "+k.what)
	}
	return fmt.Sprintf(`Every size runs on a control plane of its own (testenv, size API), so that
no measurement sees another's objects. Objects are those of the apply
benchmark: 1%% Namespaces, the rest an even mix of ConfigMaps, Secrets,
headless Services, ServiceAccounts, Deployments, Roles and RoleBindings.

- **Detection latency**: the objects are applied as one installation by
  `+"`apply.Manager`"+` and tracked by a `+"`drift.Detector`"+` with `+"`drift.DefaultOptions()`"+`,
  wired as the daemon wires them (the Manager confirms drift; the detector
  has a metadata client of its own with client-go's default rate limit).
  The policy is report-only, so no correction writes while changes are timed.
  First one object of each kind is relabelled by hand and its report awaited,
  so every watch is known to deliver. Then %d out-of-band changes are made
  one at a time, each to an object of its own, spread across the namespaces,
  taking these in turn (edits are JSON merge patches with kubectl's field
  managers; the scale goes through the scale subresource):
%s
  Each change is timed from the return of its write request to the
  detector's `+"`OnReport`"+` call for that object; one not reported within %s is
  missed.
- **No-op reconcile**: before the timed changes, the unchanged set is applied
  again and tracked again, as the daemon does every interval; the Manager's
  requests are counted for the apply, and after Track until they have stopped
  for %s (the drift checks: a GET and, unless the object is gone, a dry-run
  apply each). Only the objects drifted before (the relabelled ones) need a
  check.
- **API requests while nothing changes**: after the changes (their objects
  stay drifted and reported), the requests of the detector's client and of
  the Manager's (drift checks) are counted at the client over the window.
  Watches are requests with `+"`watch=true`"+` (a watch opened again after its
  server-side timeout); object reads are the other GETs (objects and lists).
`, changes, strings.Join(kinds, "\n"), reportTimeout, checksStill)
}
