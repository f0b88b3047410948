package main

import (
	"strings"
	"testing"
)

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

func TestParseReconciles(t *testing.T) {
	r, err := parseReconciles(`# TYPE gitopsd_reconcile_duration_seconds histogram
gitopsd_reconcile_duration_seconds_bucket{installation="fleet-00",result="success",le="0.01"} 0
gitopsd_reconcile_duration_seconds_sum{installation="fleet-00",result="success"} 12.5
gitopsd_reconcile_duration_seconds_count{installation="fleet-00",result="success"} 7
gitopsd_reconcile_duration_seconds_count{installation="fleet-01",result="success"} 6
gitopsd_reconcile_duration_seconds_count{installation="fleet-01",result="failure"} 2
`)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Reconciles{Succeeded: 13, Failed: 2}); r != want {
		t.Errorf("parseReconciles = %+v, want %+v", r, want)
	}
	if _, err := parseReconciles("go_goroutines 12\n"); err == nil || !strings.Contains(err.Error(), reconcileMetric) {
		t.Errorf("metrics without reconciles: %v", err)
	}
}
