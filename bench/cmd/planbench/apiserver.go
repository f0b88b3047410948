package main

import (
	"context"
	"strconv"
	"strings"

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

// serverRequests reads the API server's request counters. Requests for
// non-resource paths (such as /metrics), watches, and the API server's
// own Lease renewals are left out.
func serverRequests(ctx context.Context, client rest.Interface) (ServerCounts, error) {
	body, err := client.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return ServerCounts{}, err
	}
	return parseServerRequests(string(body)), nil
}

func parseServerRequests(exposition string) ServerCounts {
	var c ServerCounts
	for line := range strings.Lines(exposition) {
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		value, err := strconv.ParseFloat(strings.TrimSpace(valueText), 64)
		if err != nil {
			continue
		}
		labels := parseLabels(labelText)
		n := int(value)
		switch {
		case labels["resource"] == "", labels["resource"] == "leases":
		case labels["dry_run"] != "":
			c.DryRuns += n
		case labels["verb"] == "GET" || labels["verb"] == "LIST":
			c.Reads += n
		case labels["verb"] == "WATCH" || labels["verb"] == "WATCHLIST":
		default:
			c.Writes += n
		}
	}
	return c
}

// parseLabels reads `a="x",b="y"`; values hold no quotes here.
func parseLabels(text string) map[string]string {
	labels := map[string]string{}
	for text != "" {
		name, rest, ok := strings.Cut(text, `="`)
		if !ok {
			break
		}
		value, rest, _ := strings.Cut(rest, `"`)
		labels[name] = value
		text = strings.TrimPrefix(rest, ",")
	}
	return labels
}
