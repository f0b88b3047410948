package source

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRunBacksOffAndStops(t *testing.T) {
	opts := testOptions(closedPortURL(t), "main", t.TempDir())
	opts.Interval, opts.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	log, logs := newTestLogger(t)
	p := newTestPoller(t, opts, log)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	eventually(t, 5*time.Second, "four failed rounds", func() bool { return p.Status().ConsecutiveFailures >= 4 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}

	st := p.Status()
	if ReasonOf(st.LastError) != ReasonUnreachable || !st.NextPoll.IsZero() || !st.LastSuccess.IsZero() {
		t.Fatalf("status = %+v", st)
	}
	if _, ok := p.Latest(); ok {
		t.Fatal("a snapshot appeared without a success")
	}
	if out := logs.String(); !strings.Contains(out, "poll failed") || !strings.Contains(out, "reason=unreachable") {
		t.Fatalf("failures not logged:\n%s", out)
	}
}

func TestRunTrigger(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	p := newTestPoller(t, testOptions("file://"+repo.bare, "main", t.TempDir()), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitUpdate(t, p, repo.head(), 10*time.Second)

	want := repo.commit("next", map[string]string{"b.yaml": "b: 2\n"})
	for range 3 { // triggers coalesce and never block
		p.Trigger()
	}
	waitUpdate(t, p, want, 10*time.Second)
}

func TestMetrics(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	srv := newGitServer(t, root, "", "")
	m := NewMetrics()
	reg := prometheus.NewPedanticRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
	url := srv.URL + "/fleet.git"
	p, err := NewPoller(testOptions(url, "main", t.TempDir()), nil, m)
	if err != nil {
		t.Fatal(err)
	}
	mustPoll(t, p)
	mustPoll(t, p)
	repo.commit("next", nil)
	mustPoll(t, p)
	bad, err := NewPoller(testOptions(url, "gone", t.TempDir()), nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Poll(context.Background()); err == nil {
		t.Fatal("poll of a missing branch succeeded")
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				if l.GetName() != "url" {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				if l.GetName() == "url" && l.GetValue() != url {
					t.Errorf("url label %q, want %q", l.GetValue(), url)
				}
			}
			switch {
			case mt.Counter != nil:
				got[key] = mt.Counter.GetValue()
			case mt.Gauge != nil:
				got[key] = mt.Gauge.GetValue()
			case mt.Histogram != nil:
				got[key] = float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"gitopsd_source_ls_remote_total,ref=main,result=changed":          2,
		"gitopsd_source_ls_remote_total,ref=main,result=unchanged":        1,
		"gitopsd_source_ls_remote_total,ref=gone,result=error":            1,
		"gitopsd_source_fetch_duration_seconds,ref=main":                  2,
		"gitopsd_source_fetch_errors_total,reason=ref_not_found,ref=gone": 1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if ts := got["gitopsd_source_last_success_timestamp_seconds,ref=main"]; time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("last success timestamp = %v", ts)
	}
	var nilMetrics *Metrics
	nilMetrics.observeError("u", "r", ReasonOther) // a nil *Metrics records nothing
}
