package requests

import (
	"maps"
	"testing"
)

// A scrape as kube-apiserver v1.37 writes it: verbs after the HTTP method
// (POST, PUT) or LIST, WATCH, APPLY; non-resource paths in subresource.
const scrape = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 7
apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="cluster",subresource="",verb="LIST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="cluster",subresource="",verb="LIST",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="cluster",subresource="",verb="WATCH",version="v1"} 0
apiserver_request_total{code="200",component="apiserver",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 5
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 11
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="PATCH",version="v1"} 1
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="namespace",subresource="",verb="POST",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="PUT",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="DELETE",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="DELETECOLLECTION",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="status",verb="PUT",version="v1"} 100
apiserver_request_total{code="0",component="apiserver",dry_run="",group="",resource="configmaps",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="exec",verb="CONNECT",version="v1"} 1
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 40
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="readyz",verb="GET",version=""} 2
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="openapi/v3",verb="GET",version=""} 6
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/apis",verb="GET",version=""} 1
`

func TestParse(t *testing.T) {
	c := Parse(scrape)
	want := Counts{
		{Get, "configmaps"}: 8, {List, "configmaps"}: 2, {Watch, "configmaps"}: 3,
		{Create, "events"}: 3, {Update, "configmaps"}: 1,
		{Patch, "configmaps"}: 12, {Delete, "configmaps"}: 2, {Delete, "pods"}: 1,
		{DryRun, "configmaps"}: 5, {Discovery, "/openapi/v3"}: 6, {Discovery, "/apis"}: 1,
		{Other, "pods/exec"}: 1, {List, "deployments.apps"}: 4,
	}
	if !maps.Equal(c, want) {
		t.Errorf("Parse =\n%v, want\n%v", c, want)
	}
	if c.Verb(Delete) != 3 || c.Writes() != 19 || c.Reads() != 14 || c.Total() != 49 {
		t.Errorf("delete %d, writes %d, reads %d, total %d; want 3, 19, 14, 49", c.Verb(Delete), c.Writes(), c.Reads(), c.Total())
	}
	d := c.Sub(Counts{{Get, "configmaps"}: 8, {Patch, "configmaps"}: 2, {DryRun, "configmaps"}: 6})
	if d.Verb(Get) != 0 || d.Verb(Patch) != 10 || d.Verb(DryRun) != -1 || d.Total() != 33 {
		t.Errorf("Sub = %v", d)
	}
	if _, ok := d[Key{Get, "configmaps"}]; ok {
		t.Error("Sub kept a key that came to zero")
	}
}
