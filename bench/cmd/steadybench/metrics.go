package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gitopsd/gitopsd/bench/internal/requests"
)

// reconcileMetric counts the daemon's reconciles by installation and
// result (a histogram's count).
const reconcileMetric = "gitopsd_reconcile_duration_seconds_count"

// Reconciles are the daemon's reconciles so far, of every installation.
type Reconciles struct {
	Succeeded, Failed int
}

// parseReconciles sums the daemon's reconcile counts by result.
func parseReconciles(exposition string) (Reconciles, error) {
	var r Reconciles
	found := false
	for line := range strings.Lines(exposition) {
		rest, ok := strings.CutPrefix(line, reconcileMetric+"{")
		if !ok {
			continue
		}
		labelText, valueText, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		value, err := strconv.ParseFloat(strings.TrimSpace(valueText), 64)
		if err != nil {
			return r, errors.New(reconcileMetric + ": " + err.Error())
		}
		found = true
		if requests.ParseLabels(labelText)["result"] == "success" {
			r.Succeeded += int(value)
		} else {
			r.Failed += int(value)
		}
	}
	if !found {
		return r, errors.New("gitopsd's /metrics has no " + reconcileMetric + ": the periodic reconciles cannot be counted")
	}
	return r, nil
}

// metricValue finds the value of an unlabelled sample in Prometheus text
// exposition.
func metricValue(exposition, name string) (float64, bool) {
	for line := range strings.Lines(exposition) {
		metric, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || metric != name {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		return v, err == nil
	}
	return 0, false
}
