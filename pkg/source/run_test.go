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

// TestMetrics asserts each gitopsd_source_* family of a poller right after
// the round that should move it, and that the others stay put.
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
	repo.git("push", "--quiet", "origin", "HEAD:release")
	p, err := NewPoller(testOptions(url, "release", t.TempDir()), nil, m)
	if err != nil {
		t.Fatal(err)
	}
	const (
		changed   = "gitopsd_source_ls_remote_total,ref=release,result=changed"
		unchanged = "gitopsd_source_ls_remote_total,ref=release,result=unchanged"
		listError = "gitopsd_source_ls_remote_total,ref=release,result=error"
		fetches   = "gitopsd_source_fetch_duration_seconds,ref=release"
		success   = "gitopsd_source_last_success_timestamp_seconds,ref=release"
		failures  = "gitopsd_source_fetch_errors_total,reason=ref_not_found,ref=release"
	)
	expect := func(step string, want map[string]float64) map[string]float64 {
		t.Helper()
		got := gatherSource(t, reg, url)
		for key, w := range want {
			if got[key] != w {
				t.Errorf("after %s: %s = %v, want %v", step, key, got[key], w)
			}
		}
		return got
	}

	if _, ok := gatherSource(t, reg, url)[failures]; !ok {
		t.Errorf("before the first round: %s is absent; alerts on it need it at 0", failures)
	}
	before := float64(time.Now().UnixNano()) / 1e9
	mustPoll(t, p)
	got := expect("the first round", map[string]float64{changed: 1, unchanged: 0, fetches: 1, failures: 0})
	firstSuccess := got[success]
	if firstSuccess < before || firstSuccess > float64(time.Now().UnixNano())/1e9 {
		t.Errorf("after the first round: last success = %v, want the time of the round", firstSuccess)
	}

	mustPoll(t, p)
	got = expect("a round with nothing new", map[string]float64{changed: 1, unchanged: 1, fetches: 1})
	if got[success] <= firstSuccess {
		t.Errorf("a good round without news did not advance the last success: %v", got[success])
	}

	repo.commit("next", nil)
	repo.git("push", "--quiet", "origin", "HEAD:release")
	mustPoll(t, p)
	got = expect("a new commit", map[string]float64{changed: 2, unchanged: 1, fetches: 2})
	lastSuccess := got[success]

	repo.git("push", "--quiet", "origin", ":release")
	if _, err := p.Poll(context.Background()); err == nil {
		t.Fatal("poll of a deleted branch succeeded")
	}
	expect("a failed round", map[string]float64{changed: 2, unchanged: 1, listError: 1, fetches: 2, failures: 1, success: lastSuccess})

	var nilMetrics *Metrics
	nilMetrics.observeError("u", "r", ReasonOther) // a nil *Metrics records nothing
}

// gatherSource reads the source families from reg as "name,label=value"
// (without the url label, which must be url) to a counter or gauge value,
// or a histogram's sample count.
func gatherSource(t *testing.T, reg *prometheus.Registry, url string) map[string]float64 {
	t.Helper()
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
	return got
}
