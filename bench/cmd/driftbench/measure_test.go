package main

import (
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	counts, reads := classify([]string{
		"GET /api/v1/configmaps?allowWatchBookmarks=true&labelSelector=gitopsd.io%2Finstallation&watch=true",
		"GET /apis/apps/v1/deployments?labelSelector=gitopsd.io%2Finstallation&limit=500",
		"GET /api/v1/namespaces/a/services/web?",
		"PATCH /api/v1/namespaces/a/configmaps/x?dryRun=All&fieldManager=gitopsd&force=true",
	})
	if want := (RequestCounts{Watches: 1, Reads: 2, Writes: 1}); counts != want {
		t.Errorf("classify = %+v, want %+v", counts, want)
	}
	if len(reads) != 2 {
		t.Errorf("reads listed: %v", reads)
	}
}

func TestPerMinute(t *testing.T) {
	if got := PerMinute(3, 30*time.Second); got != 6 {
		t.Errorf("PerMinute(3, 30s) = %v, want 6", got)
	}
}

func TestParseProcStatus(t *testing.T) {
	m, err := parseProcStatus("Name:\tgitopsd\nVmPeak:\t 2000000 kB\nVmHWM:\t  262144 kB\nVmRSS:\t  204800 kB\nRssAnon:\t  143360 kB\nRssFile:\t   61440 kB\nThreads:\t12\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{RSS: 200 << 20, HWM: 256 << 20, Anon: 140 << 20, File: 60 << 20}); m != want {
		t.Errorf("parseProcStatus = %+v, want %+v", m, want)
	}
	if _, err := parseProcStatus("Name:\tx\n"); err == nil {
		t.Error("a status without VmRSS was read")
	}
}

func TestMetricValue(t *testing.T) {
	exposition := "# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines 101\n" +
		"go_memstats_heap_inuse_bytes 9.7e+07\ngo_gc_duration_seconds{quantile=\"0\"} 1e-05\n"
	if v, ok := metricValue(exposition, "go_goroutines"); !ok || v != 101 {
		t.Errorf("go_goroutines = %v, %v", v, ok)
	}
	if v, ok := metricValue(exposition, "go_memstats_heap_inuse_bytes"); !ok || v != 9.7e7 {
		t.Errorf("heap in use = %v, %v", v, ok)
	}
	if _, ok := metricValue(exposition, "go_gc_duration_seconds"); ok {
		t.Error("a labelled sample was taken for an unlabelled one")
	}
}

func TestParseServerRequests(t *testing.T) {
	c := parseServerRequests(`# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 7
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="cluster",subresource="",verb="LIST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="All",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 5
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 11
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="status",verb="UPDATE",version="v1"} 100
apiserver_request_total{code="0",component="apiserver",dry_run="",group="",resource="configmaps",scope="cluster",subresource="",verb="WATCH",version="v1"} 3
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 40
`)
	if want := (ServerCounts{Reads: 9, Watches: 3, Writes: 11, DryRuns: 5}); c != want {
		t.Errorf("parseServerRequests = %+v, want %+v", c, want)
	}
	if d := c.Sub(ServerCounts{Reads: 4, DryRuns: 5}); d != (ServerCounts{Reads: 5, Watches: 3, Writes: 11}) {
		t.Errorf("Sub = %+v", d)
	}
}
