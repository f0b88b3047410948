package main

import (
	"context"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// Counts are requests the API server served, from its own
// apiserver_request_total, by verb. The API server names verbs after the
// HTTP method (POST, PUT), or LIST, WATCH, APPLY; here Create is POST,
// Update is PUT, Patch includes server-side apply (APPLY), Delete
// includes DELETECOLLECTION and Watch WATCHLIST. A request with dryRun set counts as a DryRun only,
// whatever its verb. Discovery is GETs of non-resource paths such as
// /api and /apis.
type Counts struct {
	Get, List, Watch              int
	Create, Update, Patch, Delete int
	DryRun, Discovery, Other      int
}

// Writes are the requests that change stored objects.
func (c Counts) Writes() int { return c.Create + c.Update + c.Patch + c.Delete }

// Reads are GETs and LISTs of objects.
func (c Counts) Reads() int { return c.Get + c.List }

// Total is every request counted.
func (c Counts) Total() int {
	return c.Reads() + c.Watch + c.Writes() + c.DryRun + c.Discovery + c.Other
}

// Sub is c minus before, verb by verb.
func (c Counts) Sub(before Counts) Counts {
	return Counts{
		Get: c.Get - before.Get, List: c.List - before.List, Watch: c.Watch - before.Watch,
		Create: c.Create - before.Create, Update: c.Update - before.Update, Patch: c.Patch - before.Patch, Delete: c.Delete - before.Delete,
		DryRun: c.DryRun - before.DryRun, Discovery: c.Discovery - before.Discovery, Other: c.Other - before.Other,
	}
}

// serverRequests reads the API server's request counters.
func serverRequests(ctx context.Context, client rest.Interface) (Counts, error) {
	body, err := client.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return Counts{}, err
	}
	return parseServerRequests(string(body)), nil
}

// parseServerRequests sums apiserver_request_total by verb. Left out: the
// benchmark's own reads of /metrics and health checks, writes of
// Deployment statuses (those of Rollouts, which stands in for the
// Deployment controller), and Leases: the API server renews its own every
// 10s, and the daemon runs without leader election.
func parseServerRequests(exposition string) Counts {
	var c Counts
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
		if field := c.field(parseLabels(labelText)); field != nil {
			*field += int(value)
		}
	}
	return c
}

// field is the count a series adds to, or nil for one left out.
func (c *Counts) field(labels map[string]string) *int {
	resource, verb := labels["resource"], labels["verb"]
	switch {
	case resource == "" && ownPath(labels["subresource"]):
		return nil
	case resource == "" && verb == "GET":
		return &c.Discovery
	case resource == "":
		return &c.Other
	case resource == "deployments" && labels["subresource"] == "status":
		return nil
	case resource == "leases":
		return nil
	case labels["dry_run"] != "":
		return &c.DryRun
	}
	byVerb := map[string]*int{
		"GET": &c.Get, "LIST": &c.List, "WATCH": &c.Watch, "WATCHLIST": &c.Watch,
		"POST": &c.Create, "CREATE": &c.Create, "PUT": &c.Update, "UPDATE": &c.Update,
		"PATCH": &c.Patch, "APPLY": &c.Patch, "DELETE": &c.Delete, "DELETECOLLECTION": &c.Delete,
	}
	if f, ok := byVerb[verb]; ok {
		return f
	}
	return &c.Other // such as CONNECT
}

// ownPath reports whether a non-resource path (the API server reports it
// with or without its leading slash) is one the benchmark itself reads:
// the metrics and the health checks.
func ownPath(path string) bool {
	path = "/" + strings.TrimPrefix(path, "/")
	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/livez"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
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
