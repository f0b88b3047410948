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
	if !slices.Equal(o.Sizes, []int{1000, 5000}) || !slices.Equal(o.DaemonSizes, []int{5000, 10000}) || o.Changes != 100 || o.Quiet != 30*time.Second {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"-n", "", "-daemon-n", " 2000 "}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Sizes) != 0 || !slices.Equal(o.DaemonSizes, []int{2000}) {
		t.Errorf("-n '' -daemon-n 2000: %+v", o)
	}
	for _, args := range [][]string{
		{"-n", "", "-daemon-n", ""},
		{"-n", "50"},
		{"-n", "x"},
		{"-changes", "3"},
		{"-quiet", "0s"},
		{"-per-installation", "10"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
