package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
)

// Scenario is what the cluster holds when an engine applies a set.
type Scenario string

const (
	// Cold applies objects that do not exist yet.
	Cold Scenario = "cold apply"
	// NoOp applies a set again that is applied already and unchanged.
	NoOp Scenario = "no-op re-apply"
	// OneChanged applies a set again with one ConfigMap changed.
	OneChanged Scenario = "one object changed"
)

// Scenarios lists the scenarios in the order they run and are reported.
var Scenarios = []Scenario{Cold, NoOp, OneChanged}

// Sample is one measured apply.
type Sample struct {
	Elapsed time.Duration
	Reads   int
	Writes  int
	// DryRuns are server-side dry-run requests: writes by method that the
	// API server does not persist.
	DryRuns int
}

// Requests is the number of API requests of any kind.
func (s Sample) Requests() int { return s.Reads + s.Writes + s.DryRuns }

// Result is the samples of one engine in one scenario at one size.
type Result struct {
	N        int
	Scenario Scenario
	Engine   string
	Samples  []Sample
}

// Median is the median of each of the samples' figures, taken apart.
func (r Result) Median() Sample {
	pick := func(f func(Sample) int64) int64 {
		xs := make([]int64, len(r.Samples))
		for i, s := range r.Samples {
			xs[i] = f(s)
		}
		return median(xs)
	}
	return Sample{
		Elapsed: time.Duration(pick(func(s Sample) int64 { return int64(s.Elapsed) })),
		Reads:   int(pick(func(s Sample) int64 { return int64(s.Reads) })),
		Writes:  int(pick(func(s Sample) int64 { return int64(s.Writes) })),
		DryRuns: int(pick(func(s Sample) int64 { return int64(s.DryRuns) })),
	}
}

func median(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs))
	mid := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[mid]
	}
	return (xs[mid-1] + xs[mid]) / 2
}

// tally classifies logged requests ("METHOD path?query") as reads, writes
// and dry runs.
func tally(log []string) (reads, writes, dryRuns int) {
	for _, line := range log {
		method, target, _ := strings.Cut(line, " ")
		_, rawQuery, _ := strings.Cut(target, "?")
		query, _ := url.ParseQuery(rawQuery)
		switch {
		case method == "GET" || method == "HEAD":
			reads++
		case query.Get("dryRun") != "":
			dryRuns++
		default:
			writes++
		}
	}
	return reads, writes, dryRuns
}

// Bench runs every scenario for every engine on one control plane.
type Bench struct {
	Engines []Engine
	// Reps is how many times each engine applies in each scenario.
	Reps int
	// Live lists objects, uncounted, to check what the engines applied.
	Live metadata.Interface
	// Progress receives one line per measured apply.
	Progress io.Writer
}

// WarmUp has every engine apply a small set once, unmeasured, so that
// discovery caches are filled as they are in a running daemon or on a
// workstation that used kubectl before.
func (b *Bench) WarmUp(ctx context.Context) error {
	for _, e := range b.Engines {
		run, err := e.Prepare(objects.Generate("warmup-"+e.Name(), objects.NamespaceShare))
		if err != nil {
			return err
		}
		if _, err := run(ctx); err != nil {
			return fmt.Errorf("warm up %s: %w", e.Name(), err)
		}
	}
	return nil
}

// Run measures every scenario at size n: for each scenario, Reps rounds in
// which the engines take turns. Every cold apply gets fresh objects; the
// other scenarios re-apply the set of an engine's last cold apply.
func (b *Bench) Run(ctx context.Context, n int) ([]Result, error) {
	byScenario := make(map[Scenario][]Result, len(Scenarios))
	for _, sc := range Scenarios {
		for _, e := range b.Engines {
			byScenario[sc] = append(byScenario[sc], Result{N: n, Scenario: sc, Engine: e.Name()})
		}
	}
	sets := make([]*objects.Set, len(b.Engines))
	for _, sc := range Scenarios {
		for rep := 1; rep <= b.Reps; rep++ {
			for i, e := range b.Engines {
				switch sc {
				case Cold:
					sets[i] = objects.Generate(fmt.Sprintf("%s-%d-r%d", e.Name(), n, rep), n)
				case OneChanged:
					sets[i].Change(rep)
				}
				sample, err := b.measure(ctx, e, sets[i], sc)
				if err != nil {
					return nil, fmt.Errorf("%s, %d objects, %s, repetition %d: %w", sc, n, e.Name(), rep, err)
				}
				fmt.Fprintf(b.Progress, "%5d objects  %-18s  %-8s  #%d  %9s  %5d reads  %5d writes  %5d dry runs\n",
					n, sc, e.Name(), rep, results.FormatDuration(sample.Elapsed), sample.Reads, sample.Writes, sample.DryRuns)
				byScenario[sc][i].Samples = append(byScenario[sc][i].Samples, sample)
			}
		}
	}
	var all []Result
	for _, sc := range Scenarios {
		all = append(all, byScenario[sc]...)
	}
	return all, nil
}

// measure times one apply of s by e and checks its outcome.
func (b *Bench) measure(ctx context.Context, e Engine, s *objects.Set, sc Scenario) (Sample, error) {
	run, err := e.Prepare(s)
	if err != nil {
		return Sample{}, err
	}
	runtime.GC() // leave the last apply's garbage out of this one's time
	e.Requests().Reset()
	start := time.Now()
	out, err := run(ctx)
	elapsed := time.Since(start)
	if err != nil {
		return Sample{}, err
	}
	sample := Sample{Elapsed: elapsed}
	sample.Reads, sample.Writes, sample.DryRuns = tally(e.Requests().Log())
	if err := checkOutcome(sc, len(s.Objects), out); err != nil {
		return Sample{}, err
	}
	if sc == Cold {
		if err := b.checkLive(ctx, s); err != nil {
			return Sample{}, err
		}
	}
	return sample, nil
}

// checkOutcome compares what an engine says it did with what the scenario
// asks of it.
func checkOutcome(sc Scenario, n int, out Outcome) error {
	if !out.Known {
		return nil
	}
	want := map[Scenario]Outcome{
		Cold:       {Known: true, Created: n},
		NoOp:       {Known: true, Unchanged: n},
		OneChanged: {Known: true, Configured: 1, Unchanged: n - 1},
	}[sc]
	if out != want {
		return fmt.Errorf("the engine reports %d created, %d configured, %d unchanged; want %d, %d, %d",
			out.Created, out.Configured, out.Unchanged, want.Created, want.Configured, want.Unchanged)
	}
	return nil
}

// checkLive lists s's objects, kind by kind, and fails unless every one
// exists.
func (b *Bench) checkLive(ctx context.Context, s *objects.Set) error {
	counts := s.KindCounts()
	var missing []string
	for _, kind := range slices.Sorted(maps.Keys(counts)) {
		list, err := b.Live.Resource(objects.Resources[kind]).List(ctx, metav1.ListOptions{LabelSelector: objects.LabelSet + "=" + s.Prefix})
		if err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		if got := len(list.Items); got != counts[kind] {
			missing = append(missing, fmt.Sprintf("%d of %d %ss", got, counts[kind], kind))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("after the apply the cluster holds only %s", strings.Join(missing, ", "))
	}
	return nil
}
