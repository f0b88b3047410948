package main

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// QuietResult is what the detector and its checks asked of the API server
// over a window in which nothing changed.
type QuietResult struct {
	N      int
	Window time.Duration
	// Requests counts them by class.
	Requests RequestCounts
	// Reads lists the object reads, for the report.
	Reads []string
	// Reports counts drift reports in the window.
	Reports int
}

// RequestCounts classifies API requests.
type RequestCounts struct {
	// Watches are watch requests: a watch opened again after its timeout.
	Watches int
	// Reads are GETs and LISTs of objects.
	Reads int
	// Writes are the rest, dry runs included.
	Writes int
}

// PerMinute scales a count over window to a minute.
func PerMinute(count int, window time.Duration) float64 {
	return float64(count) / window.Minutes()
}

// MeasureQuiet counts the requests of the detector (its watches) and of
// the Manager (drift checks) while nothing changes for window.
func (d *Detection) MeasureQuiet(ctx context.Context, window time.Duration) (QuietResult, error) {
	res := QuietResult{N: len(d.set.Objects), Window: window}
	d.mu.Lock()
	before := d.calls
	d.mu.Unlock()
	d.watchRequests.Reset()
	d.checkRequests.Reset()
	timer := time.NewTimer(window) // the measurement window itself
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	log := append(d.watchRequests.Log(), d.checkRequests.Log()...)
	res.Requests, res.Reads = classify(log)
	d.mu.Lock()
	res.Reports = d.calls - before
	d.mu.Unlock()
	return res, nil
}

// classify counts logged requests ("METHOD path?query") by class and lists
// the object reads.
func classify(log []string) (RequestCounts, []string) {
	var (
		c     RequestCounts
		reads []string
	)
	for _, line := range log {
		method, target, _ := strings.Cut(line, " ")
		_, rawQuery, _ := strings.Cut(target, "?")
		query, _ := url.ParseQuery(rawQuery)
		switch {
		case method != "GET" && method != "HEAD":
			c.Writes++
		case query.Get("watch") == "true" || query.Get("watch") == "1":
			c.Watches++
		default:
			c.Reads++
			reads = append(reads, line)
		}
	}
	return c, reads
}
