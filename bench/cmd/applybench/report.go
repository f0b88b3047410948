package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/results"
)

// Report is what a run measured, and where.
type Report struct {
	results.Machine
	Reps    int
	Results []Result
}

// result returns the result of engine in scenario sc at size n.
func (r *Report) result(n int, sc Scenario, engine string) (Result, bool) {
	i := slices.IndexFunc(r.Results, func(res Result) bool {
		return res.N == n && res.Scenario == sc && res.Engine == engine
	})
	if i < 0 {
		return Result{}, false
	}
	return r.Results[i], true
}

func (r *Report) sizes() []int {
	var sizes []int
	for _, res := range r.Results {
		if !slices.Contains(sizes, res.N) {
			sizes = append(sizes, res.N)
		}
	}
	return sizes
}

// limitTarget: a cold apply takes at most this many times the limit's.
const limitTarget = 1.2

// Targets checks gitopsd against the goals of the apply engine: a cold
// apply in at most half of Flux's time and within limitTarget of the
// limit's, and a no-op that sends at most a twentieth of Flux's requests,
// writes nothing, and takes under 100 ms for 5000 objects.
func (r *Report) Targets() []results.Target {
	var targets []results.Target
	for _, n := range r.sizes() {
		g, gOK := r.result(n, Cold, "gitopsd")
		f, fOK := r.result(n, Cold, "flux")
		t := results.Target{N: n, Goal: "cold apply ≤ 0.5× Flux's time"}
		if gOK && fOK {
			ratio := float64(g.Median().Elapsed) / float64(f.Median().Elapsed)
			t.Measured = fmt.Sprintf("%s vs %s: %s", results.FormatDuration(g.Median().Elapsed), results.FormatDuration(f.Median().Elapsed), results.FormatRatio(ratio))
			t.Met = verdict(ratio <= 0.5)
		}
		targets = append(targets, t)

		l, lOK := r.result(n, Cold, "limit")
		t = results.Target{N: n, Goal: fmt.Sprintf("cold apply ≤ %.1f× the limit's time", limitTarget)}
		if gOK && lOK {
			ratio := float64(g.Median().Elapsed) / float64(l.Median().Elapsed)
			t.Measured = fmt.Sprintf("%s vs %s: %s", results.FormatDuration(g.Median().Elapsed), results.FormatDuration(l.Median().Elapsed), results.FormatRatio(ratio))
			t.Met = verdict(ratio <= limitTarget)
		}
		targets = append(targets, t)

		g, gOK = r.result(n, NoOp, "gitopsd")
		f, fOK = r.result(n, NoOp, "flux")
		t = results.Target{N: n, Goal: "no-op ≤ 1/20 of Flux's requests"}
		if gOK && fOK {
			gr, fr := g.Median().Requests(), f.Median().Requests()
			t.Measured = fmt.Sprintf("%d vs %d: %s", gr, fr, results.FormatRatio(float64(gr)/float64(fr)))
			t.Met = verdict(gr*20 <= fr)
		}
		targets = append(targets, t)

		t = results.Target{N: n, Goal: "no-op writes nothing"}
		if gOK {
			writes := 0
			for _, s := range g.Samples {
				writes = max(writes, s.Writes+s.DryRuns)
			}
			t.Measured = fmt.Sprintf("at most %d writes in %d runs", writes, len(g.Samples))
			t.Met = verdict(writes == 0)
		}
		targets = append(targets, t)

		if n == 5000 {
			t = results.Target{N: n, Goal: "no-op < 100 ms"}
			if gOK {
				t.Measured = results.FormatDuration(g.Median().Elapsed)
				t.Met = verdict(g.Median().Elapsed < 100*time.Millisecond)
			}
			targets = append(targets, t)
		}
	}
	return targets
}

func verdict(met bool) *bool { return &met }

// Table is the results as a Markdown table: for each size and scenario,
// one row per engine with its medians and gitopsd's ratio to it.
func (r *Report) Table() string {
	var b strings.Builder
	b.WriteString("| objects | scenario | engine | time (median) | time (min–max) | reads | writes | dry runs | requests | gitopsd ÷ engine, time | gitopsd ÷ engine, requests |\n")
	b.WriteString("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		m := res.Median()
		timeRatio, requestRatio := "—", "—"
		if g, ok := r.result(res.N, res.Scenario, "gitopsd"); ok && res.Engine != "gitopsd" {
			gm := g.Median()
			timeRatio = results.FormatRatio(float64(gm.Elapsed) / float64(m.Elapsed))
			if m.Requests() > 0 {
				requestRatio = results.FormatRatio(float64(gm.Requests()) / float64(m.Requests()))
			}
		}
		lo, hi := res.spread()
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s–%s | %d | %d | %d | %d | %s | %s |\n",
			res.N, res.Scenario, res.Engine, results.FormatDuration(m.Elapsed), results.FormatDuration(lo), results.FormatDuration(hi),
			m.Reads, m.Writes, m.DryRuns, m.Requests(), timeRatio, requestRatio)
	}
	return b.String()
}

// BesideTable has a row per size and scenario: gitopsd's medians beside
// the limit's and Flux's, and its ratio to each.
func (r *Report) BesideTable() string {
	var b strings.Builder
	b.WriteString("| objects | scenario | gitopsd | limit | Flux | gitopsd ÷ limit, time | gitopsd ÷ Flux, time | gitopsd requests | limit requests | Flux requests |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range r.sizes() {
		for _, sc := range Scenarios {
			g, ok := r.result(n, sc, "gitopsd")
			if !ok {
				continue
			}
			gm := g.Median()
			row := []string{fmt.Sprint(n), string(sc), results.FormatDuration(gm.Elapsed)}
			var ratios, requests []string
			for _, engine := range []string{"limit", "flux"} {
				e, ok := r.result(n, sc, engine)
				if !ok {
					row, ratios, requests = append(row, "—"), append(ratios, "—"), append(requests, "—")
					continue
				}
				em := e.Median()
				row = append(row, results.FormatDuration(em.Elapsed))
				ratios = append(ratios, results.FormatRatio(float64(gm.Elapsed)/float64(em.Elapsed)))
				requests = append(requests, fmt.Sprint(em.Requests()))
			}
			row = append(append(append(row, ratios...), fmt.Sprint(gm.Requests())), requests...)
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	return b.String()
}

// spread is the shortest and longest time of the samples.
func (res Result) spread() (lo, hi time.Duration) {
	for i, s := range res.Samples {
		if i == 0 || s.Elapsed < lo {
			lo = s.Elapsed
		}
		if s.Elapsed > hi {
			hi = s.Elapsed
		}
	}
	return lo, hi
}

// TargetTable is the targets as a Markdown table.
func (r *Report) TargetTable() string {
	return results.TargetTable(r.Targets())
}

// Markdown is the whole report: where and how it was measured, the
// results, and the targets.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString(r.Header(results.ApplyTitle, "`make bench` (flags: `make bench BENCH_FLAGS='-n 1000 -reps 5'`)"))
	b.WriteString(method(r.Reps))
	b.WriteString("\n## gitopsd beside the limit and Flux\n\n")
	b.WriteString(r.BesideTable())
	b.WriteString("\n## Results\n\n")
	b.WriteString(r.Table())
	b.WriteString("\n## Targets\n\n")
	b.WriteString(r.TargetTable())
	return b.String()
}

// method says what was run and how it was counted.
func method(reps int) string {
	return fmt.Sprintf(`One control plane (testenv, size API) serves the whole run; the API server,
etcd, the engines and kubectl share the machine's cores with whatever else
runs on it, so times are wall-clock times under that load. Each engine applies
its own objects (its own namespaces, named by engine, size and repetition),
and the engines take turns: every scenario runs %d rounds of gitopsd, kubectl,
Flux and the limit, and the tables show medians. Every cold apply uses fresh objects; the
no-op and one-changed scenarios re-apply the engine's last cold set, the latter
with one ConfigMap edited. Objects: 1%% Namespaces, the rest an even mix per
namespace of ConfigMaps, Secrets, headless Services, ServiceAccounts,
Deployments, Roles and RoleBindings. Each engine first applies a small set
once, unmeasured, to fill its discovery cache.

- **gitopsd**: `+"`apply.Manager.Apply`"+` with `+"`apply.DefaultOptions()`"+` (concurrency 8, prune on)
  and an in-cluster inventory; no client-side rate limit (the Manager turns it
  off). The ObjectSet is built before the clock starts (a render of a known
  commit is a cache hit in the daemon).
- **kubectl**: `+"`kubectl apply --server-side --force-conflicts --field-manager=kubectl-bench -f <dir>`"+`
  with the kubectl built by `+"`make tools`"+` and its default client settings
  (client-go's 5 requests/s, burst 10; kubectl builds a client per object it
  reads from the files, so its one request per object is not throttled); one
  YAML file per namespace; its discovery cache in a directory of its own; the
  time includes starting kubectl and parsing the files.
- **Flux**: `+"`ssa.ResourceManager.ApplyAllStaged`"+` of fluxcd/pkg/ssa v0.78.0 with
  `+"`ssa.DefaultApplyOptions()`"+`, field manager kustomize-controller, concurrency %d
  (kustomize-controller's `+"`--concurrent-ssa`"+` default), a controller-runtime
  client at QPS %d / burst %d, and a kstatus poller for the staged waits.
- **limit**: the physical limit of an apply, what any engine that sends
  every object must at least spend: one server-side apply patch per object
  (field manager %s, force), %d in flight at a time, the Namespaces first,
  and nothing else: no reads, no inventory, no health wait, no client-side
  rate limit; the patches are encoded before the clock starts and the
  answers not decoded. An engine that skips unchanged objects can beat it
  on a re-apply; the cold apply is the comparison that counts.

Requests are counted at the client for gitopsd, Flux and the limit (a wrapped transport),
and for kubectl by pointing it at a plain-HTTP proxy on loopback that counts
and forwards each request to the API server with the admin credentials. Reads
are GET requests; dry runs are requests with `+"`dryRun=All`"+` (Flux's drift check),
which the API server does not persist; writes are the rest.
After each cold apply the benchmark lists every engine's objects and fails
unless all exist; it fails too when gitopsd or Flux report other than all
created (cold), all unchanged (no-op), or one configured (one changed).
`, reps, fluxConcurrency, fluxQPS, fluxBurst, limitManager, limitConcurrency)
}
