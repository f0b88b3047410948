package drift

import (
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/prometheus/client_golang/prometheus"
)

// TestCountersStartAtZero: from an installation's first apply its drift
// counters are on /metrics at 0, so that an alert on their increase works
// before the first drift.
func TestCountersStartAtZero(t *testing.T) {
	l := newLoop(t, true, apply.DefaultOptions(), configMap)
	reg := prometheus.NewPedanticRegistry()
	if err := l.detector.metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	want := []string{"gitopsd_drift_detections_total", "gitopsd_drift_corrections_total", "gitopsd_drift_fights_total"}
	var missing []string
	err := poll(10*time.Second, func() bool {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		zero := map[string]bool{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == l.req.Installation && m.GetCounter().GetValue() == 0 {
					zero[f.GetName()] = true
				}
			}
		}
		missing = missing[:0]
		for _, name := range want {
			if !zero[name] {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0
	})
	if err != nil {
		t.Errorf("after the first apply, not at 0: %v", missing)
	}
}
