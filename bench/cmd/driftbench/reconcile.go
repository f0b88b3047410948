package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/still"
	"github.com/gitopsd/gitopsd/pkg/apply"
)

// Checks after a no-op reconcile are counted until the Manager's requests
// have stopped for checksStill, polled every checksEvery, for at most
// checksTimeout.
const (
	checksEvery   = 250 * time.Millisecond
	checksStill   = 2 * time.Second
	checksTimeout = 5 * time.Minute
)

// ReconcileResult is what one no-op reconcile cost: the apply of an
// unchanged set, then Track, as the daemon does every interval.
type ReconcileResult struct {
	N int
	// Drifted is the number of objects drifted (and reported) before.
	Drifted int
	// Apply are the apply's own requests; Checks the drift checks that
	// followed Track.
	Apply, Checks RequestCounts
	// ChecksTook is from Track to the last check.
	ChecksTook time.Duration
}

// MeasureReconcile re-applies the installation unchanged, tracks it again,
// and counts the drift checks that follow until they stop.
func (d *Detection) MeasureReconcile(ctx context.Context) (ReconcileResult, error) {
	res := ReconcileResult{N: len(d.set.Objects)}
	d.mu.Lock()
	res.Drifted = len(d.reports)
	d.mu.Unlock()
	d.checkRequests.Reset()
	cs, err := d.manager.Apply(ctx, d.req, d.opts)
	if err != nil {
		return res, err
	}
	if err := cs.Err(); err != nil {
		return res, fmt.Errorf("no-op apply: %s: %w", cs.Summary(), err)
	}
	if counts := cs.Counts(); counts[apply.Created]+counts[apply.Configured]+counts[apply.Deleted] > 0 {
		return res, fmt.Errorf("no-op apply changed objects: %s", cs.Summary())
	}
	res.Apply, _ = classify(d.checkRequests.Log())
	d.checkRequests.Reset()
	d.track(cs.Owned)
	_, took, err := still.Wait(ctx, checksEvery, checksStill, checksTimeout, func() (int, error) {
		reads, writes := d.checkRequests.Counts()
		return reads + writes, nil
	})
	if err != nil {
		return res, err
	}
	res.Checks, _ = classify(d.checkRequests.Log())
	res.ChecksTook = took
	return res, nil
}
