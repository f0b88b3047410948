package main

import (
	"fmt"
	"strconv"

	"github.com/gitopsd/gitopsd/bench/internal/results"
)

// FluxInterval is what one interval costs Flux for n objects: the apply
// benchmark's no-op re-apply of fluxcd/pkg/ssa, which is what
// kustomize-controller does every interval (a read and a dry run per
// object).
type FluxInterval struct {
	N                                int
	Reads, Writes, DryRuns, Requests int
}

// The apply benchmark's results table: its columns and the scenario and
// engine of Flux's interval reconcile.
const (
	fluxScenario = "no-op re-apply"
	fluxEngine   = "flux"
)

// ReadFluxIntervals reads Flux's interval cost, per size, from the apply
// benchmark's section of the results file at path; none when that
// section is not there.
func ReadFluxIntervals(path string) ([]FluxInterval, error) {
	section, ok, err := results.ReadSection(path, results.ApplyTitle)
	if err != nil || !ok {
		return nil, err
	}
	tables, err := results.Tables(section)
	if err != nil {
		return nil, fmt.Errorf("%s, section %q: %w", path, results.ApplyTitle, err)
	}
	var out []FluxInterval
	for _, table := range tables {
		for _, row := range table {
			if row["engine"] != fluxEngine || row["scenario"] != fluxScenario {
				continue
			}
			f, err := fluxInterval(row)
			if err != nil {
				return nil, fmt.Errorf("%s, section %q, Flux's %s: %w", path, results.ApplyTitle, fluxScenario, err)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func fluxInterval(row results.Row) (FluxInterval, error) {
	var f FluxInterval
	for _, c := range []struct {
		column string
		into   *int
	}{{"objects", &f.N}, {"reads", &f.Reads}, {"writes", &f.Writes}, {"dry runs", &f.DryRuns}, {"requests", &f.Requests}} {
		n, err := strconv.Atoi(row[c.column])
		if err != nil {
			return f, fmt.Errorf("column %q: %w", c.column, err)
		}
		*c.into = n
	}
	return f, nil
}
