package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Peak profiling: the daemon's resident set is read every profileEvery,
// and its heap profile saved each time the set has grown by profileStep
// beyond the last one saved, so that the last profile is the heap near
// the peak. Fetching a profile costs the daemon some work and memory of
// its own: a run that profiles measures where the memory goes, not how
// much.
const (
	profileEvery = 500 * time.Millisecond
	profileStep  = 2 << 20
)

// profilePeaks saves the daemon's heap profile into dir as heap-<n>.pb.gz,
// <n> its size in objects, each time its resident set reaches a new high,
// until ctx ends, and says where the last was taken.
func (d *daemon) profilePeaks(ctx context.Context, dir string, n int, progress io.Writer) {
	path := filepath.Join(dir, fmt.Sprintf("heap-%d.pb.gz", n))
	var saved int64
	var at time.Duration
	tick := time.NewTicker(profileEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if saved > 0 {
				fmt.Fprintf(progress, "steadybench: %d objects: heap profile at VmRSS %.1f MiB, %s after start: %s\n",
					n, float64(saved)/(1<<20), at.Round(time.Second), path)
			}
			return
		case <-tick.C:
		}
		m, err := ReadMemory(d.pid())
		if err != nil || m.RSS < saved+profileStep {
			continue
		}
		if err := d.saveProfile(ctx, path); err == nil {
			saved, at = m.RSS, time.Since(d.started)
		}
	}
}

// saveProfile fetches the daemon's heap profile into path.
func (d *daemon) saveProfile(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s", res.Status)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
