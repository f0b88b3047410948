package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/results"
)

// Report is what a run measured.
type Report struct {
	Machine results.Machine
	Options Options
	Pushes  []Push
	Flux    FluxDiff
}

// target is the goal for the median time from webhook to status.
const target = time.Second

// percentile is the nearest-rank percentile p (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// medianCounts is the median of each class of requests per push.
func medianCounts(pushes []Push) ServerCounts {
	var reads, writes, dry []int
	for _, p := range pushes {
		reads, writes, dry = append(reads, p.Requests.Reads), append(writes, p.Requests.Writes), append(dry, p.Requests.DryRuns)
	}
	med := func(v []int) int {
		slices.Sort(v)
		return v[len(v)/2]
	}
	return ServerCounts{Reads: med(reads), Writes: med(writes), DryRuns: med(dry)}
}

// Markdown is the report's section of RESULTS.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	o := r.Options
	b.WriteString(r.Machine.Header("Plan-check benchmark", "`make bench` (flags: `make bench PLAN_BENCH_FLAGS='-pushes 20'`)"))
	fmt.Fprintf(&b, `A fleet of %d installations of %d objects each (1 Namespace and an even mix of
ConfigMaps, Secrets, Services, ServiceAccounts, Deployments, Roles and
RoleBindings) is served by git http-backend and applied to the cluster.
`+"`gitopsd run -target=plan,webhook`"+` follows it with a token for githubtest, the
in-process GitHub fake. A pull request changes every object of one
installation (an annotation); it is pushed to %d times, %s after the last
status each time (GitHub asks for a second between writes; the daemon lets a
check's three out at once, then spaces them, so back-to-back pushes would
time that courtesy). Each push is timed from the signed `+"`pull_request`"+` webhook
(synchronize) to the final commit status on its head, seen on githubtest: the
daemon fetches `+"`refs/pull/1/head`"+` by SHA from the Git server, renders every
installation at the head and (from its cache) at main, keeps the one that
renders otherwise, lists its live objects (one list per kind) and dry-runs
them against the API server, and posts the comment and the result; the
pending status goes out meanwhile.
Requests are the API server's own counts (apiserver_request_total, without
watches and Lease renewals) during each plan.

Beside it, the same head diffed as `+"`flux diff kustomization`"+` does: for each
kustomization, object after object, `+"`ssa.ResourceManager.Diff`"+` of
fluxcd/pkg/ssa (a read and a server-side dry run), requests counted at the
client. A check built on it cannot tell which kustomizations a change affects,
so it diffs them all; the affected one alone is shown too.

`, o.Installations, o.Objects, o.Pushes, o.Pause)

	var lat []time.Duration
	for _, p := range r.Pushes {
		lat = append(lat, p.Latency)
	}
	med := medianCounts(r.Pushes)
	b.WriteString("## Results\n\n")
	b.WriteString("| measurement | p50 | p99 | min | max |\n|---|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| webhook → status, %d pushes | %s | %s | %s | %s |\n\n", len(lat),
		results.FormatDuration(percentile(lat, 50)), results.FormatDuration(percentile(lat, 99)),
		results.FormatDuration(percentile(lat, 0)), results.FormatDuration(percentile(lat, 100)))
	fmt.Fprintf(&b, "p99 is the nearest rank: of %d pushes, the slowest.\n\n", len(lat))
	b.WriteString("| plan of the pull request | objects dry-run | reads | dry runs | writes | requests | time |\n|---|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| gitopsd (median per push) | %d | %d | %d | %d | %d | %s |\n", o.Objects, med.Reads, med.DryRuns, med.Writes, med.Total(), results.FormatDuration(percentile(lat, 50)))
	fmt.Fprintf(&b, "| `flux diff kustomization`, every installation | %d | — | — | — | %d | %s |\n", r.Flux.All.Objects, r.Flux.All.Requests, results.FormatDuration(r.Flux.All.Took))
	fmt.Fprintf(&b, "| `flux diff kustomization`, the affected one | %d | — | — | — | %d | %s |\n\n", r.Flux.Affected.Objects, r.Flux.Affected.Requests, results.FormatDuration(r.Flux.Affected.Took))
	b.WriteString("Flux's times leave out its kustomize build and GitHub; gitopsd's include fetching, rendering and posting.\n\n")

	metLatency := percentile(lat, 50) < target
	metRequests := med.Total() <= r.Flux.All.Requests
	b.WriteString("## Targets\n\n")
	b.WriteString(results.TargetTable([]results.Target{
		{N: o.Installations * o.Objects, Goal: "webhook → status p50 < 1 s", Measured: results.FormatDuration(percentile(lat, 50)), Met: &metLatency},
		{N: o.Installations * o.Objects, Goal: "requests per plan ≤ flux diff of every installation",
			Measured: fmt.Sprintf("%d vs %d: %s", med.Total(), r.Flux.All.Requests, results.FormatRatio(float64(med.Total())/float64(max(r.Flux.All.Requests, 1)))), Met: &metRequests},
	}))
	return b.String()
}
