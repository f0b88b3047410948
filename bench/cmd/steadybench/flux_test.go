package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// applySection is the start of the apply benchmark's section as
// cmd/applybench writes it.
const applySection = `# Apply-engine benchmark

Measured 2026-11-25 01:49 UTC on 2 cores (linux/amd64).

## gitopsd beside the limit and Flux

| objects | scenario | gitopsd | limit | Flux | gitopsd ÷ limit, time | gitopsd ÷ Flux, time | gitopsd requests | limit requests | Flux requests |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|
| 5000 | no-op re-apply | 74 ms | 3.00 s | 9.99 s | 0.025× (1/41) | 0.0074× (1/134) | 9 | 5000 | 10002 |

## Results

| objects | scenario | engine | time (median) | time (min–max) | reads | writes | dry runs | requests | gitopsd ÷ engine, time | gitopsd ÷ engine, requests |
|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
| 1000 | no-op re-apply | gitopsd | 17 ms | 17 ms–27 ms | 9 | 0 | 0 | 9 | — | — |
| 1000 | no-op re-apply | flux | 1.77 s | 1.43 s–1.80 s | 1001 | 0 | 1000 | 2001 | 0.0095× (1/106) | 0.0045× (1/222) |
| 5000 | cold apply | flux | 18.60 s | 16.94 s–19.47 s | 5001 | 5000 | 5000 | 15001 | 0.26× | 0.33× |
| 5000 | no-op re-apply | flux | 9.99 s | 9.27 s–10.02 s | 5002 | 0 | 5000 | 10002 | 0.0074× (1/134) | 0.0009× (1/1111) |

## Targets

| objects | target | measured | met |
|---:|---|---|---|
| 5000 | no-op < 100 ms | 74 ms | **met** |
`

func TestReadFluxIntervals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	if got, err := ReadFluxIntervals(path); err != nil || got != nil {
		t.Errorf("no file: %v, %v", got, err)
	}
	if err := os.WriteFile(path, []byte(applySection+"\n# Drift benchmark\n\n| objects | engine | scenario |\n|---|---|---|\n| 5000 | flux | no-op re-apply |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFluxIntervals(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []FluxInterval{
		{N: 1000, Reads: 1001, DryRuns: 1000, Requests: 2001},
		{N: 5000, Reads: 5002, DryRuns: 5000, Requests: 10002},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadFluxIntervals = %+v, want %+v", got, want)
	}
	if err := os.WriteFile(path, []byte("# Apply-engine benchmark\n\n| objects | scenario | engine | reads |\n|---|---|---|---|\n| 5000 | no-op re-apply | flux | many |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFluxIntervals(path); err == nil {
		t.Error("a row without numbers was read")
	}
}
