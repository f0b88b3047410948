package main

import (
	"os/exec"
	"testing"
)

func TestParseProcStatus(t *testing.T) {
	m, err := parseProcStatus("Name:\tgitopsd\nVmPeak:\t 2000000 kB\nVmHWM:\t  262144 kB\nVmRSS:\t  204800 kB\nRssAnon:\t  143360 kB\nRssFile:\t   61440 kB\nThreads:\t12\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{RSS: 200 << 20, HWM: 256 << 20, Anon: 140 << 20, File: 60 << 20}); m != want {
		t.Errorf("parseProcStatus = %+v, want %+v", m, want)
	}
	if _, err := parseProcStatus("Name:\tx\n"); err == nil {
		t.Error("a status without VmRSS was read")
	}
}

// TestResetPeak checks on a real process that the peak can be reset and
// read, as the window's memory reading needs.
func TestResetPeak(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	if err := ResetPeak(pid); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMemory(pid)
	if err != nil {
		t.Fatal(err)
	}
	if m.HWM <= 0 || m.HWM < m.RSS {
		t.Errorf("after a reset VmHWM is %d, VmRSS %d", m.HWM, m.RSS)
	}
	if err := ResetPeak(1 << 30); err == nil {
		t.Error("resetting the peak of a process that does not exist succeeded")
	}
}
