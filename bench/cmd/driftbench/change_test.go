package main

import (
	"testing"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/pkg/render"
)

func TestPlanChanges(t *testing.T) {
	set := objects.Generate("p", 1000)
	changes, err := PlanChanges(set, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 100 {
		t.Fatalf("%d changes, want 100", len(changes))
	}
	reserved := map[render.Key]bool{}
	for _, c := range syncChanges(set) {
		reserved[c.Key] = true
	}
	seen := map[render.Key]bool{}
	namespaces := map[string]map[string]bool{}
	for i, c := range changes {
		k := changeKinds[i%len(changeKinds)]
		if c.What != k.what || c.Key.Kind != k.kind {
			t.Errorf("change %d is %q to a %s; kinds of change go in turn", i, c.What, c.Key.Kind)
		}
		if seen[c.Key] || reserved[c.Key] {
			t.Errorf("change %d: %s is changed twice", i, c.Key)
		}
		seen[c.Key] = true
		if namespaces[c.What] == nil {
			namespaces[c.What] = map[string]bool{}
		}
		namespaces[c.What][c.Key.Namespace] = true
	}
	for what, ns := range namespaces {
		if len(ns) < 10 {
			t.Errorf("%s: changes in %d of 10 namespaces; they spread across all", what, len(ns))
		}
	}
}

func TestPlanChangesUneven(t *testing.T) {
	changes, err := PlanChanges(objects.Generate("p", 100), 7)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, c := range changes {
		counts[c.What]++
	}
	if counts[changeKinds[0].what] != 2 || counts[changeKinds[1].what] != 2 || counts[changeKinds[4].what] != 1 {
		t.Errorf("7 changes split as %v", counts)
	}
}

func TestPlanChangesTooMany(t *testing.T) {
	if _, err := PlanChanges(objects.Generate("p", 100), 100); err == nil {
		t.Error("100 changes to 100 objects were planned")
	}
}

func TestSyncChangesOnePerKind(t *testing.T) {
	set := objects.Generate("s", 1000)
	changes := syncChanges(set)
	kinds := map[string]bool{}
	for _, c := range changes {
		if kinds[c.Key.Kind] {
			t.Errorf("two sync changes to %ss", c.Key.Kind)
		}
		kinds[c.Key.Kind] = true
	}
	if len(kinds) != len(set.KindCounts()) {
		t.Errorf("sync changes to %d kinds, the set has %d", len(kinds), len(set.KindCounts()))
	}
	for kind := range kinds {
		if _, ok := objects.Resources[kind]; !ok {
			t.Errorf("no resource for %s", kind)
		}
	}
}
