package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// reportTimeout is how long a change may go unreported before it counts
// as missed.
const reportTimeout = 30 * time.Second

// LatencySample is one timed change.
type LatencySample struct {
	What string
	// Latency is from the change's write returning to its report; zero
	// when the report came first.
	Latency time.Duration
	// Missed is set when no report came within reportTimeout.
	Missed bool
}

// LatencyResult is the timed changes at one size.
type LatencyResult struct {
	N       int
	Samples []LatencySample
	// Spurious counts objects reported that nobody changed.
	Spurious int
}

// MeasureLatency makes n out-of-band changes one at a time, each to an
// object of its own, and times each from its write's return to its report.
func (d *Detection) MeasureLatency(ctx context.Context, n int, progress io.Writer) (LatencyResult, error) {
	res := LatencyResult{N: len(d.set.Objects)}
	changes, err := PlanChanges(d.set, n)
	if err != nil {
		return res, err
	}
	changed := map[render.Key]bool{}
	for _, c := range syncChanges(d.set) {
		changed[c.Key] = true
	}
	for i, c := range changes {
		changed[c.Key] = true
		if err := c.Make(ctx, d.client); err != nil {
			return res, err
		}
		returned := time.Now()
		s := LatencySample{What: c.What}
		at, err := d.waitReport(ctx, c.Key, reportTimeout)
		switch {
		case ctx.Err() != nil:
			return res, ctx.Err()
		case err != nil:
			s.Missed = true
		default:
			s.Latency = max(at.Sub(returned), 0)
		}
		res.Samples = append(res.Samples, s)
		fmt.Fprintf(progress, "%6d objects  change %3d  %-42s  %s\n", res.N, i+1, c.What, describeSample(s))
	}
	d.mu.Lock()
	for key := range d.reports {
		if !changed[key] {
			res.Spurious++
		}
	}
	d.mu.Unlock()
	return res, nil
}

func describeSample(s LatencySample) string {
	if s.Missed {
		return "not reported within " + reportTimeout.String()
	}
	return results.FormatDuration(s.Latency)
}
