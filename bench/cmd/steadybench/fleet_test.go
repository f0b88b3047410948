package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/pkg/config"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		n, per int
		want   []int
	}{
		{10000, 1000, []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}},
		{2500, 1000, []int{834, 833, 833}},
		{300, 1000, []int{300}},
	} {
		if got := split(tc.n, tc.per); !slices.Equal(got, tc.want) {
			t.Errorf("split(%d, %d) = %v, want %v", tc.n, tc.per, got, tc.want)
		}
	}
}

func TestWriteFleet(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the git CLI is needed: install git")
	}
	dir := t.TempDir()
	f, err := WriteFleet(context.Background(), dir, 2500, 1000, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kinds != len(objects.Resources) {
		t.Errorf("%d kinds per installation, want %d", f.Kinds, len(objects.Resources))
	}
	if len(f.Commit) != 40 {
		t.Errorf("commit %q", f.Commit)
	}
	cfg, err := config.Load(os.DirFS(dir), "fleet")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, inst := range cfg.Installations {
		names = append(names, inst.Name)
		if inst.Interval != 30*time.Second {
			t.Errorf("%s: interval %s, want 30s", inst.Name, inst.Interval)
		}
		if _, err := os.Stat(dir + "/" + inst.Path); err != nil {
			t.Errorf("%s: %v", inst.Name, err)
		}
	}
	if !slices.Equal(names, f.Installations) || len(names) != 3 {
		t.Errorf("gitopsd.yaml lists %v, WriteFleet says %v", names, f.Installations)
	}
	status, err := git(context.Background(), dir, "status", "--porcelain")
	if err != nil || status != "" {
		t.Errorf("the repository is not clean after the commit: %q %v", status, err)
	}
}
