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
	Rounds  []Round
}

// target is the goal for the slowest switch and rollback.
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

// Markdown is the report's section of RESULTS.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	o, m := r.Options, r.Machine
	fmt.Fprintf(&b, "# Cutover benchmark\n\n")
	fmt.Fprintf(&b, "Measured %s on %d cores (%s), Kubernetes %s (etcd, kube-apiserver, controller-manager, scheduler and kwok nodes), %s.\n",
		m.Date.UTC().Format("2006-01-02 15:04 MST"), m.Cores, m.Platform, m.KubernetesVersion, m.GoVersion)
	if m.LoadBefore != "" {
		fmt.Fprintf(&b, "Load average (1, 5, 15 min) %s at the start and %s at the end: other work shares the cores.\n", m.LoadBefore, m.LoadAfter)
	}
	b.WriteString("Reproduce with `make bench` (flags: `make bench CUTOVER_BENCH_FLAGS='-rounds 10'`).\n\n")
	fmt.Fprintf(&b, `One blue/green installation: a Deployment of %d replicas and %d Services
that follow the live colour (no pre-cutover Job, requireMergedPR: false: the
gate and the Job come before the times measured). The reconciler and its
cutovers run in process as `+"`gitopsd run`"+` wires them, with their default
100 ms look at the idle colour. Each round commits a new image: gitopsd
rolls it out to the idle colour (green) and switches; then `+"`gitopsd rollback`"+`
(the reconciler's Rollback, as the API endpoint calls it) switches back to
blue, still kept at full size. Times are taken from watches of the API
server:

- switch: from the event that shows green fully available (every replica
  updated, ready and available) to the event that shows the last Service
  selecting green;
- rollback: from the call to the event that shows the last Service
  selecting blue; traffic: to the EndpointSlices of every Service listing
  only blue's %d ready pods (the EndpointSlice controller's work included).

`, o.Replicas, o.Services, o.Replicas)
	var sw, rb, tr []time.Duration
	for _, x := range r.Rounds {
		sw, rb, tr = append(sw, x.Switch), append(rb, x.Rollback), append(tr, x.Traffic)
	}
	b.WriteString("## Results\n\n| measurement | rounds | p50 | max | min |\n|---|---:|---:|---:|---:|\n")
	row := func(name string, ds []time.Duration) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", name, len(ds), results.FormatDuration(percentile(ds, 50)),
			results.FormatDuration(percentile(ds, 100)), results.FormatDuration(percentile(ds, 0)))
	}
	row("idle colour available → every Service switched", sw)
	row("`gitopsd rollback` → every Service on the old colour", rb)
	row("`gitopsd rollback` → EndpointSlices list only the old colour's pods", tr)
	b.WriteString("\n## Targets\n\n")
	metSwitch, metRollback := percentile(sw, 100) < target, percentile(rb, 100) < target
	b.WriteString(results.TargetTable([]results.Target{
		{N: o.Services + 2, Goal: "idle colour available → every Service switched < 1 s (slowest round)", Measured: results.FormatDuration(percentile(sw, 100)), Met: &metSwitch},
		{N: o.Services + 2, Goal: "`gitopsd rollback` → traffic on the old colour < 1 s (slowest round, Services switched)", Measured: results.FormatDuration(percentile(rb, 100)), Met: &metRollback},
	}))
	return b.String()
}
