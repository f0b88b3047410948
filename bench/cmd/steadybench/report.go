package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitopsd/gitopsd/bench/internal/requests"
	"github.com/gitopsd/gitopsd/bench/internal/results"
)

// Targets of the daemon at rest (issue 11): a periodic reconcile that
// changes nothing costs at most two requests per kind of object it
// manages, and no writes or dry runs; the daemon's peak resident set stays
// under 150 MiB with 10000 objects.
const (
	requestsPerKind = 2
	peakTarget      = 150 << 20 // at peakTargetN objects
	peakTargetN     = 10000
)

// Title heads this benchmark's section of RESULTS.md.
const Title = "Steady-state benchmark"

// Report is what a run measured, and where.
type Report struct {
	results.Machine
	// Build says where the daemon came from, such as the commit.
	Build           string
	PerInstallation int
	Results         []Result
	// Flux is Flux's interval cost from the apply benchmark, per size.
	Flux []FluxInterval
}

func verdict(met bool) *bool { return &met }

// verbTable is a table with the given leading columns, then one column per
// verb and one for all.
func verbTable(lead []string, rows [][]string) string {
	head := append(append(append([]string(nil), lead...), requests.Verbs...), "all")
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---:|", len(head)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// verbCells formats each verb's count of c, and their total, with format.
func verbCells(c requests.Counts, format func(int) string) []string {
	var cells []string
	for _, v := range requests.Verbs {
		cells = append(cells, format(c.Verb(v)))
	}
	return append(cells, format(c.Total()))
}

// PerReconcileTable has a row per size: the daemon's requests in the
// window divided by its periodic reconciles, by verb.
func (r *Report) PerReconcileTable() string {
	var rows [][]string
	for _, res := range r.Results {
		lead := []string{fmt.Sprint(res.N), fmt.Sprint(res.Installations), fmt.Sprint(res.Kinds), fmt.Sprint(res.Reconciles)}
		rows = append(rows, append(lead, verbCells(res.Requests, func(n int) string { return fmt.Sprintf("%.1f", res.PerReconcile(n)) })...))
	}
	return verbTable([]string{"objects", "installations", "kinds each", "periodic reconciles"}, rows)
}

// WindowTable has a row per size: the daemon's requests in the window, and
// below it the idle plane's, which were taken off.
func (r *Report) WindowTable() string {
	var rows [][]string
	for _, res := range r.Results {
		for _, who := range []struct {
			name string
			c    requests.Counts
		}{{"gitopsd", res.Requests}, {"idle plane (taken off)", res.Plane}} {
			lead := []string{fmt.Sprint(res.N), who.name, res.Window.String()}
			rows = append(rows, append(lead, verbCells(who.c, func(n int) string { return fmt.Sprint(n) })...))
		}
	}
	return verbTable([]string{"objects", "requests of", "window"}, rows)
}

// ResourceTable lists, per size, the daemon's requests in the window by
// verb and resource, the most first.
func (r *Report) ResourceTable() string {
	var b strings.Builder
	b.WriteString("| objects | verb | resource | in the window | per periodic reconcile |\n|---:|---|---|---:|---:|\n")
	for _, res := range r.Results {
		keys := slices.SortedFunc(maps.Keys(res.Requests), func(a, b requests.Key) int {
			if d := res.Requests[b] - res.Requests[a]; d != 0 {
				return d
			}
			return strings.Compare(a.Verb+" "+a.Resource, b.Verb+" "+b.Resource)
		})
		for _, k := range keys {
			n := res.Requests[k]
			fmt.Fprintf(&b, "| %d | %s | %s | %d | %.1f |\n", res.N, k.Verb, k.Resource, n, res.PerReconcile(n))
		}
	}
	return b.String()
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// FluxTable has, per size, what one interval costs gitopsd (all its
// installations) beside what it costs Flux.
func (r *Report) FluxTable() string {
	var b strings.Builder
	b.WriteString("| objects | engine | interval | requests per interval | per object | reads | writes | dry runs | gitopsd ÷ Flux |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		scale := func(n int) float64 { return float64(n) * res.Interval.Seconds() / res.Window.Seconds() }
		c := res.Requests
		g := scale(c.Total())
		fmt.Fprintf(&b, "| %d | gitopsd (%s) | %s | %.0f | %.3f | %.0f | %.0f | %.0f | — |\n", res.N, plural(res.Installations, "installation"), res.Interval,
			g, g/float64(res.N), scale(c.Reads()), scale(c.Writes()), scale(c.Verb(requests.DryRun)))
		i := slices.IndexFunc(r.Flux, func(f FluxInterval) bool { return f.N == res.N })
		if i < 0 {
			fmt.Fprintf(&b, "| %d | Flux | any | not measured | — | — | — | — | — |\n", res.N)
			continue
		}
		f := r.Flux[i]
		fmt.Fprintf(&b, "| %d | Flux (one Kustomization) | any | %d | %.3f | %d | %d | %d | %s |\n", res.N, f.Requests,
			float64(f.Requests)/float64(f.N), f.Reads, f.Writes, f.DryRuns, results.FormatRatio(g/float64(f.Requests)))
	}
	return b.String()
}

// SyncTable has a row per size: the initial sync and its requests.
func (r *Report) SyncTable() string {
	var b strings.Builder
	b.WriteString("| objects | installations | initial sync | slowest apply | reads | writes | dry runs | requests stopped after Ready |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		settled := results.FormatDuration(res.Settled)
		if res.Settled >= settleTimeout {
			settled = "not within " + settleTimeout.String()
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %d | %d | %d | %s |\n", res.N, res.Installations,
			results.FormatDuration(res.InitialSync), results.FormatDuration(res.SlowestApply),
			res.Sync.Reads(), res.Sync.Writes(), res.Sync.Verb(requests.DryRun), settled)
	}
	return b.String()
}

// MemoryTable has a row per size.
func (r *Report) MemoryTable() string {
	var b strings.Builder
	b.WriteString("| objects | VmHWM, whole life | peak until Ready | peak after Ready | VmRSS at the end | RssAnon | RssFile | Go heap in use | goroutines |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		m := res.End
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %d |\n", res.N, results.FormatBytes(res.Peak()),
			results.FormatBytes(res.Ready.HWM), results.FormatBytes(m.HWM), results.FormatBytes(m.RSS),
			results.FormatBytes(m.Anon), results.FormatBytes(m.File), results.FormatBytes(res.HeapInUse), res.Goroutines)
	}
	return b.String()
}

// Targets checks every size against the request targets, and the run at
// peakTargetN objects against the memory target.
func (r *Report) Targets() []results.Target {
	var targets []results.Target
	for _, res := range r.Results {
		limit := requestsPerKind * res.Kinds
		per := res.PerReconcile(res.Requests.Total())
		targets = append(targets,
			results.Target{N: res.N, Goal: fmt.Sprintf("requests per periodic reconcile ≤ %d per kind (%d)", requestsPerKind, limit),
				Measured: fmt.Sprintf("%.1f (%d in %d reconciles)", per, res.Requests.Total(), res.Reconciles),
				Met:      verdict(per <= float64(limit))},
			results.Target{N: res.N, Goal: "no writes and no dry runs at rest",
				Measured: fmt.Sprintf("%d writes, %d dry runs in %s", res.Requests.Writes(), res.Requests.Verb(requests.DryRun), res.Window),
				Met:      verdict(res.Requests.Writes() <= 0 && res.Requests.Verb(requests.DryRun) <= 0)})
	}
	t := results.Target{N: peakTargetN, Goal: "VmHWM < 150 MiB, periodic reconciles included"}
	if i := slices.IndexFunc(r.Results, func(res Result) bool { return res.N == peakTargetN }); i >= 0 {
		res := r.Results[i]
		t.Measured = fmt.Sprintf("%s (%d periodic reconciles of %d installations in the window)",
			results.FormatBytes(res.Peak()), res.Reconciles, res.Installations)
		t.Met = verdict(res.Peak() < peakTarget && res.Reconciles >= res.Installations)
	}
	return append(targets, t)
}

// Markdown is the whole report: where and how it was measured, a table
// per measurement, and the targets.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString(r.Header(Title, "`make bench`; this section alone: `cd bench && go run ./cmd/steadybench` (flags: `-n 5000 -window 3m`)"))
	b.WriteString(r.method())
	b.WriteString("\n## Requests per periodic reconcile, by verb\n\n" + r.PerReconcileTable())
	b.WriteString("\n## Requests in the window, by verb\n\n" + r.WindowTable())
	b.WriteString("\n## The daemon's requests in the window, by resource\n\n" + r.ResourceTable())
	b.WriteString("\n## One interval, beside Flux\n\n" + r.FluxTable())
	b.WriteString("\n## Initial sync\n\n" + r.SyncTable())
	b.WriteString("\n## Memory\n\n" + r.MemoryTable())
	b.WriteString("\n## Steady-state targets\n\n" + results.TargetTable(r.Targets()))
	return b.String()
}

// method says what was run and how it was measured.
func (r *Report) method() string {
	return fmt.Sprintf(`The real `+"`gitopsd run`"+` (%s) follows a Git
repository on disk (branch main, polled hourly) whose `+"`gitopsd.yaml`"+` lists
one installation per %d objects, each a directory of plain YAML reconciled
every interval, with the other defaults (drift corrected, prune on). The
objects are those of the apply benchmark: 1%% Namespaces, the rest an even
mix of ConfigMaps, Secrets, headless Services, ServiceAccounts,
Deployments, Roles and RoleBindings. Every size runs on a control plane of
its own (testenv, size API) beside a second, idle one started with it.
The planes have no Deployment controller, so the benchmark marks each
Deployment rolled out (one status write each, left out of the counts) and
health waits end as on a cluster whose pods start.

Requests are the API servers' own counters (`+"`apiserver_request_total`"+`) by
verb and resource: patch includes server-side apply (the API server's
APPLY), a request with `+"`dryRun`"+` counts as a dry run only, discovery is GETs
of /api, /apis, /openapi and the like. Left out: the benchmark's own reads
of /metrics, and Leases, which the API server renews for itself every 10s
(the daemon runs without leader election). Once the status API says every
installation is Ready at HEAD, and the requests have stopped for %s (at
most %s), the window starts. The daemon's requests are the counts of its
plane over the window less those of the idle plane over the same window
(the API server's own loops, such as its OpenAPI fetches and a list of
Services every 3 minutes; one such request more or less on either side
is noise). Periodic reconciles are those the daemon's
`+"`gitopsd_reconcile_duration_seconds_count`"+` counts as ending in the window;
requests per periodic reconcile are all the daemon's requests in the
window, whatever prompted them (a timer, a watch), divided by those
reconciles, and a reconcile under way at either end of the window adds
its requests to one side only. One interval, beside Flux, scales the
daemon's requests in the window to one interval of the whole fleet;
Flux's figures are its no-op re-apply in the apply benchmark above, which
is what kustomize-controller does every interval (a read and a dry-run
apply per object), whatever the interval.

Memory is read from `+"`/proc/<pid>/status`"+`: the peak resident set
(VmHWM) at Ready, then the peak is reset (`+"`/proc/<pid>/clear_refs`"+`) and
read again at the end of the window; the whole life's peak is the larger.
The Go heap and goroutines are the daemon's `+"`/metrics`"+` at the end; RssFile
is mostly the executable's pages. The daemon is built as `+"`make build`"+`
builds it (without kustomize's Go plugin loader) and runs with its own
memory settings: GOGC 25 and, outside a cgroup with a memory limit, no
soft memory limit (GOGC and GOMEMLIMIT are not passed on to it). Until
Ready, the benchmark reads the status API every %s.
`, r.Build, r.PerInstallation, settleQuiet, settleTimeout, statusEvery)
}
