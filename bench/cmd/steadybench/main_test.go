package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Sizes, []int{5000, 10000}) || o.Interval != 30*time.Second || o.Window != 3*time.Minute || o.PerInstallation != 1000 {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"-n", " 1000 ", "-window", "1m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Sizes, []int{1000}) || o.Window != time.Minute {
		t.Errorf("-n 1000 -window 1m: %+v", o)
	}
	for _, args := range [][]string{
		{"-n", ""},
		{"-n", "50"},
		{"-n", "x"},
		{"-per-installation", "10"},
		{"-interval", "0s"},
		{"-window", "20s"},
		{"-sync-timeout", "0s"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestDaemonEnv(t *testing.T) {
	got := daemonEnv([]string{"HOME=/home/x", "GOGC=400", "GOMEMLIMIT=1GiB", "GITOPSD_REPO=x", "GOGCX=1", "PATH=/bin"})
	if want := []string{"HOME=/home/x", "GOGCX=1", "PATH=/bin"}; !slices.Equal(got, want) {
		t.Errorf("daemonEnv = %v, want %v", got, want)
	}
}
