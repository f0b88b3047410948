package main

import (
	"context"

	"github.com/gitopsd/gitopsd/bench/internal/requests"
	"k8s.io/client-go/rest"
)

// ServerCounts are requests the API server served, from its own
// apiserver_request_total, by class.
type ServerCounts struct {
	Reads, Writes, DryRuns int
}

// Sub is c minus before.
func (c ServerCounts) Sub(before ServerCounts) ServerCounts {
	return ServerCounts{c.Reads - before.Reads, c.Writes - before.Writes, c.DryRuns - before.DryRuns}
}

// Total is every request counted.
func (c ServerCounts) Total() int { return c.Reads + c.Writes + c.DryRuns }

// serverRequests reads the API server's request counters into the
// report's classes. Watches, discovery and the API server's own Lease
// renewals are left out (see requests.Parse).
func serverRequests(ctx context.Context, client rest.Interface) (ServerCounts, error) {
	c, err := requests.Read(ctx, client)
	if err != nil {
		return ServerCounts{}, err
	}
	return ServerCounts{Reads: c.Reads(), Writes: c.Writes(), DryRuns: c.Verb(requests.DryRun)}, nil
}
