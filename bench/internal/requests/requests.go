package requests

import (
	"context"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// The verbs requests are counted by, the columns of the report. The API
// server names its verbs after the HTTP method (POST, PUT) or LIST, WATCH,
// APPLY; here create is POST, update is PUT, patch includes server-side
// apply (APPLY), delete includes DELETECOLLECTION and watch WATCHLIST. A
// request with dryRun set is a dry run only, whatever its verb; discovery
// is GETs of non-resource paths such as /api and /apis.
const (
	Get       = "get"
	List      = "list"
	Watch     = "watch"
	Create    = "create"
	Update    = "update"
	Patch     = "patch"
	Delete    = "delete"
	DryRun    = "dry run"
	Discovery = "discovery"
	Other     = "other"
)

// Verbs lists the verbs in the report's order.
var Verbs = []string{Get, List, Watch, Create, Update, Patch, Delete, DryRun, Discovery, Other}

// Key is a class of request: its verb and its resource (group-qualified,
// such as deployments.apps), or for discovery its path.
type Key struct {
	Verb, Resource string
}

// Counts are requests the API server served, from its own
// apiserver_request_total, by Key.
type Counts map[Key]int

// Verb sums the requests of verb.
func (c Counts) Verb(verb string) int {
	n := 0
	for k, v := range c {
		if k.Verb == verb {
			n += v
		}
	}
	return n
}

// Writes are the requests that change stored objects.
func (c Counts) Writes() int { return c.Verb(Create) + c.Verb(Update) + c.Verb(Patch) + c.Verb(Delete) }

// Reads are GETs and LISTs of objects.
func (c Counts) Reads() int { return c.Verb(Get) + c.Verb(List) }

// Total is every request counted.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Sub is c minus before, key by key; keys that come to zero are left out.
func (c Counts) Sub(before Counts) Counts {
	d := Counts{}
	for k, v := range c {
		d[k] += v
	}
	for k, v := range before {
		d[k] -= v
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}

// Read reads the API server's request counters from its /metrics.
func Read(ctx context.Context, client rest.Interface) (Counts, error) {
	body, err := client.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	return Parse(string(body)), nil
}

// Parse sums apiserver_request_total in a /metrics exposition by Key. Left out: the
// benchmark's own reads of /metrics and health checks, writes of
// Deployment statuses (those of Rollouts, which stands in for the
// Deployment controller), and Leases: the API server renews its own every
// 10s, and the daemon runs without leader election.
func Parse(exposition string) Counts {
	c := Counts{}
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
		if k, ok := keyOf(ParseLabels(labelText)); ok && value > 0 {
			c[k] += int(value)
		}
	}
	return c
}

// verbs maps the API server's verbs to the report's.
var verbs = map[string]string{
	"GET": Get, "LIST": List, "WATCH": Watch, "WATCHLIST": Watch,
	"POST": Create, "CREATE": Create, "PUT": Update, "UPDATE": Update,
	"PATCH": Patch, "APPLY": Patch, "DELETE": Delete, "DELETECOLLECTION": Delete,
}

// keyOf classifies a series of apiserver_request_total; false for one
// left out.
func keyOf(labels map[string]string) (Key, bool) {
	resource, verb, sub := labels["resource"], labels["verb"], labels["subresource"]
	if resource == "" {
		path := "/" + strings.TrimPrefix(sub, "/") // reported with or without its slash
		switch {
		case ownPath(path):
			return Key{}, false
		case verb == "GET":
			return Key{Discovery, path}, true
		}
		return Key{Other, path}, true
	}
	if resource == "leases" || resource == "deployments" && sub == "status" {
		return Key{}, false
	}
	if g := labels["group"]; g != "" {
		resource += "." + g
	}
	if sub != "" {
		resource += "/" + sub
	}
	if labels["dry_run"] != "" {
		return Key{DryRun, resource}, true
	}
	if v, ok := verbs[verb]; ok {
		return Key{v, resource}, true
	}
	return Key{Other, resource}, true // such as CONNECT
}

// ownPath reports whether a non-resource path is one the benchmark itself
// reads: the metrics and the health checks.
func ownPath(path string) bool {
	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/livez"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// ParseLabels reads the labels of a sample, `a="x",b="y"`, for metrics
// whose values hold no quotes (those of the API server and of gitopsd).
func ParseLabels(text string) map[string]string {
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
