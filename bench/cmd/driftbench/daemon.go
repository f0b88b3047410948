package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"k8s.io/client-go/rest"
)

// Settling: once every installation is Ready, the API server's counters
// are read every settleEvery until the daemon's reads and dry runs have
// stopped for settleQuiet (or settleTimeout passes); then the daemon's
// memory is read settleSamples times, settleEvery apart, and the last
// reading is kept.
const (
	statusEvery   = 250 * time.Millisecond
	settleEvery   = time.Second
	settleQuiet   = 3 * time.Second
	settleTimeout = 5 * time.Minute
	settleSamples = 5
)

// DaemonRun is one run of the daemon for the memory measurement.
type DaemonRun struct {
	// Binary is the gitopsd executable.
	Binary string
	// Dir holds the run's repository, the daemon's cache and its log.
	Dir             string
	Objects         int
	PerInstallation int
	SyncTimeout     time.Duration
}

// DaemonResult is what one run measured.
type DaemonResult struct {
	N             int
	Installations int
	// InitialSync is from starting the process to every installation
	// Ready at HEAD.
	InitialSync time.Duration
	// SlowestApply is the longest apply of an installation, as its status
	// says (the health wait is not part of it).
	SlowestApply time.Duration
	// SyncRequests are the requests the API server served during the
	// initial sync; AfterReady those after it, until the daemon stopped.
	SyncRequests, AfterReady ServerCounts
	// Settled is how long after Ready the daemon's requests stopped; zero
	// when they never started, settleTimeout when they did not stop.
	Settled time.Duration
	// Memory is the last reading after settling.
	Memory Memory
	// HeapInUse and Goroutines are the daemon's own metrics after settling.
	HeapInUse  int64
	Goroutines int
}

// MeasureDaemon writes a fleet repository of run.Objects objects, runs
// `gitopsd run` on it against env until every installation is Ready at
// HEAD and its requests have stopped, and reads the process's memory.
func MeasureDaemon(ctx context.Context, env *testenv.Env, run DaemonRun, progress io.Writer) (DaemonResult, error) {
	res := DaemonResult{N: run.Objects}
	dir := filepath.Join(run.Dir, fmt.Sprintf("daemon-%d", run.Objects))
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return res, err
	}
	fleet, err := WriteFleet(ctx, repo, run.Objects, run.PerInstallation)
	if err != nil {
		return res, err
	}
	res.Installations = len(fleet.Installations)
	rollouts, err := StartRollouts(ctx, env.Config)
	if err != nil {
		return res, err
	}
	defer rollouts.Stop()

	api := env.Client.Discovery().RESTClient()
	before, err := serverRequests(ctx, api)
	if err != nil {
		return res, err
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	d, err := startDaemon(run.Binary, addr, filepath.Join(dir, "gitopsd.log"),
		"run", "--repo", fleet.Dir, "--ref", "main", "--kubeconfig", env.Kubeconfig,
		"--http-addr", addr, "--interval", "1h", "--cache-dir", filepath.Join(dir, "cache"), "--leader-elect=false")
	if err != nil {
		return res, err
	}
	defer d.stop()
	fmt.Fprintf(progress, "driftbench: waiting for %d installations to be Ready at %.12s\n", res.Installations, fleet.Commit)
	if err := d.measureSync(ctx, api, before, fleet, run.SyncTimeout, &res); err != nil {
		return res, fmt.Errorf("%w\n%s", err, d.logTail())
	}
	fmt.Fprintf(progress, "driftbench: Ready after %s; %d reads and %d dry runs after that, for %s\n", results.FormatDuration(res.InitialSync),
		res.AfterReady.Reads, res.AfterReady.DryRuns, results.FormatDuration(res.Settled))
	if err := d.measureMemory(ctx, &res); err != nil {
		return res, err
	}
	fmt.Fprintf(progress, "driftbench: VmRSS %s, VmHWM %s, Go heap in use %s\n",
		results.FormatBytes(res.Memory.RSS), results.FormatBytes(res.Memory.HWM), results.FormatBytes(res.HeapInUse))
	return res, nil
}

// measureSync waits until every installation of fleet is Ready at its
// commit, then until the daemon's requests stop, and records how long
// that took and the API server's counts since before.
func (d *daemon) measureSync(ctx context.Context, api rest.Interface, before ServerCounts, fleet *Fleet, timeout time.Duration, res *DaemonResult) error {
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
	ready, err := serverRequests(ctx, api)
	if err != nil {
		return err
	}
	res.SyncRequests = ready.Sub(before)
	settled, after, err := settle(ctx, api, ready)
	if err != nil {
		return err
	}
	res.AfterReady, res.Settled = settled.Sub(ready), after
	return nil
}

// measureMemory reads the process's memory settleSamples times and keeps
// the last reading, and the Go heap and goroutines from its metrics.
func (d *daemon) measureMemory(ctx context.Context, res *DaemonResult) error {
	tick := time.NewTicker(settleEvery) // sampling interval, not synchronisation
	defer tick.Stop()
	for range settleSamples {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		var err error
		if res.Memory, err = ReadMemory(d.cmd.Process.Pid); err != nil {
			return err
		}
	}
	exposition, err := get(ctx, d.base+"/metrics")
	if err != nil {
		return fmt.Errorf("gitopsd's metrics: %w", err)
	}
	heap, _ := metricValue(exposition, "go_memstats_heap_inuse_bytes")
	goroutines, _ := metricValue(exposition, "go_goroutines")
	res.HeapInUse, res.Goroutines = int64(heap), int(goroutines)
	return nil
}

// settle waits from ready on until the daemon's reads and dry runs have
// not moved for settleQuiet, and returns the counts then and how long
// after ready they last moved.
func settle(ctx context.Context, api rest.Interface, ready ServerCounts) (ServerCounts, time.Duration, error) {
	last := ready
	_, after, err := waitStill(ctx, settleEvery, settleQuiet, settleTimeout, func() (int, error) {
		c, err := serverRequests(ctx, api)
		last = c
		return c.Reads + c.DryRuns, err
	})
	return last, after, err
}
