package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/requests"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/bench/internal/still"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"k8s.io/client-go/rest"
)

// Polling: the status API every statusEvery until every installation is
// Ready; then the API server's counters every settleEvery until the
// daemon's requests have stopped for settleQuiet (at most settleTimeout),
// when the window starts.
const (
	statusEvery   = 250 * time.Millisecond
	settleEvery   = time.Second
	settleQuiet   = 3 * time.Second
	settleTimeout = time.Minute
)

// Run is one steady-state run of the daemon.
type Run struct {
	// Binary is the gitopsd executable.
	Binary string
	// Dir holds the run's repository, the daemon's cache and its log.
	Dir             string
	Objects         int
	PerInstallation int
	// Interval is every installation's interval in gitopsd.yaml.
	Interval time.Duration
	// Window is how long the daemon is watched at rest.
	Window      time.Duration
	SyncTimeout time.Duration
	// ProfileDir, when set, receives heap profiles near the peak.
	ProfileDir string
}

// Result is what one run measured.
type Result struct {
	N             int
	Installations int
	// Kinds is the number of kinds of object of an installation.
	Kinds            int
	Interval, Window time.Duration
	// InitialSync is from starting the process to every installation
	// Ready at HEAD; SlowestApply the longest apply of one, as its status
	// says (the health wait is not part of it).
	InitialSync, SlowestApply time.Duration
	// Sync are the requests the API server served during the initial
	// sync; Settled how long after Ready they stopped (settleTimeout when
	// they did not).
	Sync    requests.Counts
	Settled time.Duration
	// Reconciles are the periodic reconciles that ended in the window.
	Reconciles int
	// Requests are the daemon's in the window: the API server's counts
	// less the idle plane's, Plane, over the same window.
	Requests, Plane requests.Counts
	// Ready is the memory when every installation was Ready (its HWM the
	// peak of the initial sync); End at the window's end (its HWM the peak
	// since Ready).
	Ready, End Memory
	// HeapInUse and Goroutines are the daemon's own metrics at the end.
	HeapInUse  int64
	Goroutines int
}

// Peak is the peak resident set of the daemon's whole life.
func (r Result) Peak() int64 { return max(r.Ready.HWM, r.End.HWM) }

// PerReconcile is c divided by the periodic reconciles of the window.
func (r Result) PerReconcile(c int) float64 {
	if r.Reconciles == 0 {
		return 0
	}
	return float64(c) / float64(r.Reconciles)
}

// Measure writes a fleet repository of run.Objects objects, runs `gitopsd
// run` on it against env until every installation is Ready at HEAD, lets
// its requests settle, then counts what it asks of the API server over
// run.Window, less what the idle plane's API server serves itself in the
// same window, and reads the process's memory.
func Measure(ctx context.Context, env, idle *testenv.Env, run Run, progress io.Writer) (Result, error) {
	res := Result{N: run.Objects, Interval: run.Interval, Window: run.Window}
	dir := filepath.Join(run.Dir, fmt.Sprintf("steady-%d", run.Objects))
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return res, err
	}
	fleet, err := WriteFleet(ctx, repo, run.Objects, run.PerInstallation, run.Interval)
	if err != nil {
		return res, err
	}
	res.Installations, res.Kinds = len(fleet.Installations), fleet.Kinds
	rollouts, err := StartRollouts(ctx, env.Config)
	if err != nil {
		return res, err
	}
	defer rollouts.Stop()

	api := env.Client.Discovery().RESTClient()
	before, err := requests.Read(ctx, api)
	if err != nil {
		return res, err
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	args := []string{"run", "--repo", fleet.Dir, "--ref", "main", "--kubeconfig", env.Kubeconfig,
		"--http-addr", addr, "--interval", "1h", "--cache-dir", filepath.Join(dir, "cache"), "--leader-elect=false"}
	if run.ProfileDir != "" {
		args = append(args, "--enable-pprof")
	}
	d, err := startDaemon(run.Binary, addr, filepath.Join(dir, "gitopsd.log"), args...)
	if err != nil {
		return res, err
	}
	defer d.stop()
	if run.ProfileDir != "" {
		profileCtx, stopProfiles := context.WithCancel(ctx)
		profiled := make(chan struct{})
		go func() {
			defer close(profiled)
			d.profilePeaks(profileCtx, run.ProfileDir, run.Objects, progress)
		}()
		defer func() { stopProfiles(); <-profiled }()
	}
	fmt.Fprintf(progress, "steadybench: %d objects: waiting for %s to be Ready at %.12s\n", run.Objects, plural(res.Installations, "installation"), fleet.Commit)
	if err := d.sync(ctx, api, before, fleet, run.SyncTimeout, &res); err != nil {
		return res, fmt.Errorf("%w\n%s", err, d.logTail())
	}
	fmt.Fprintf(progress, "steadybench: %d objects: Ready after %s, VmHWM %s; requests stopped %s after; watching for %s\n", run.Objects,
		results.FormatDuration(res.InitialSync), results.FormatBytes(res.Ready.HWM), results.FormatDuration(res.Settled), run.Window)
	if err := d.watch(ctx, api, idle.Client.Discovery().RESTClient(), run.Window, &res); err != nil {
		return res, fmt.Errorf("%w\n%s", err, d.logTail())
	}
	fmt.Fprintf(progress, "steadybench: %d objects: %d requests in %d periodic reconciles; VmHWM %s\n", run.Objects,
		res.Requests.Total(), res.Reconciles, results.FormatBytes(res.Peak()))
	return res, nil
}

// sync waits until every installation of fleet is Ready at its commit,
// records how long that took, the API server's counts since before and
// the memory, starts a new peak, and waits until the requests stop.
func (d *daemon) sync(ctx context.Context, api rest.Interface, before requests.Counts, fleet *Fleet, timeout time.Duration, res *Result) error {
	status, err := d.waitReady(ctx, fleet, timeout)
	if err != nil {
		return err
	}
	res.InitialSync = time.Since(d.started)
	for _, in := range status.Installations {
		if took, err := time.ParseDuration(in.LastApplyDuration); err == nil {
			res.SlowestApply = max(res.SlowestApply, took)
		}
	}
	ready, err := requests.Read(ctx, api)
	if err != nil {
		return err
	}
	res.Sync = ready.Sub(before)
	if res.Ready, err = ReadMemory(d.pid()); err != nil {
		return err
	}
	if err := ResetPeak(d.pid()); err != nil {
		return err
	}
	_, res.Settled, err = still.Wait(ctx, settleEvery, settleQuiet, settleTimeout, func() (int, error) {
		c, err := requests.Read(ctx, api)
		return c.Total() - c.Verb(requests.Discovery), err // the API server fetches OpenAPI itself every few seconds
	})
	return err
}

// watch counts the requests both API servers serve over window and the
// daemon's periodic reconciles, and reads its memory at the end. A
// reconcile that fails, or a daemon that exits, ends the run with an
// error.
func (d *daemon) watch(ctx context.Context, api, idle rest.Interface, window time.Duration, res *Result) error {
	start, err := d.snapshot(ctx, api, idle)
	if err != nil {
		return err
	}
	timer := time.NewTimer(window) // the measurement window itself
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-d.done:
		return fmt.Errorf("gitopsd exited in the window: %v", d.err)
	case <-ctx.Done():
		return ctx.Err()
	}
	end, err := d.snapshot(ctx, api, idle)
	if err != nil {
		return err
	}
	res.Plane = end.idle.Sub(start.idle)
	res.Requests = end.plane.Sub(start.plane).Sub(res.Plane)
	res.Reconciles = end.reconciles.Succeeded - start.reconciles.Succeeded
	if failed := end.reconciles.Failed - start.reconciles.Failed; failed > 0 {
		return fmt.Errorf("%d periodic reconciles failed in the window", failed)
	}
	if res.Reconciles == 0 {
		return errors.New("no periodic reconcile ended in the window: make it longer than the interval")
	}
	if res.End, err = ReadMemory(d.pid()); err != nil {
		return err
	}
	res.HeapInUse, res.Goroutines = end.heap, end.goroutines
	return nil
}

// snapshot is the counters the window is the difference of.
type snapshot struct {
	plane, idle requests.Counts
	reconciles  Reconciles
	heap        int64
	goroutines  int
}

// snapshot reads both API servers' counters and the daemon's metrics.
func (d *daemon) snapshot(ctx context.Context, api, idle rest.Interface) (snapshot, error) {
	var s snapshot
	var err error
	if s.plane, err = requests.Read(ctx, api); err != nil {
		return s, err
	}
	if s.idle, err = requests.Read(ctx, idle); err != nil {
		return s, fmt.Errorf("the idle plane: %w", err)
	}
	exposition, err := get(ctx, d.base+"/metrics")
	if err != nil {
		return s, fmt.Errorf("gitopsd's metrics: %w", err)
	}
	if s.reconciles, err = parseReconciles(exposition); err != nil {
		return s, err
	}
	heap, _ := metricValue(exposition, "go_memstats_heap_inuse_bytes")
	goroutines, _ := metricValue(exposition, "go_goroutines")
	s.heap, s.goroutines = int64(heap), int(goroutines)
	return s, nil
}
