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
	if !slices.Equal(o.Sizes, []int{1000, 5000}) || o.Changes != 100 || o.Quiet != 30*time.Second {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"-n", " 2000 "}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Sizes, []int{2000}) {
		t.Errorf("-n 2000: %+v", o)
	}
	for _, args := range [][]string{
		{"-n", ""},
		{"-n", "50"},
		{"-n", "x"},
		{"-changes", "3"},
		{"-quiet", "0s"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
