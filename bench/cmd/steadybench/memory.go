package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's memory as Linux reports it, in bytes.
type Memory struct {
	// RSS is the resident set now (VmRSS); HWM its peak so far (VmHWM).
	RSS, HWM int64
	// Anon and File split RSS: anonymous memory (the heap, stacks) and
	// pages of mapped files (the executable's).
	Anon, File int64
}

// ReadMemory reads the memory of process pid from /proc.
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return parseProcStatus(string(data))
}

// ResetPeak sets the peak resident set of process pid (VmHWM) to its
// resident set now, so that a later reading is the peak since then
// (Linux 4.0 and later).
func ResetPeak(pid int) error {
	err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	if err != nil {
		return fmt.Errorf("reset the peak resident set: %w", err)
	}
	return nil
}

// parseProcStatus reads a /proc/<pid>/status file.
func parseProcStatus(status string) (Memory, error) {
	var m Memory
	found := 0
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		field := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}[name]
		if !ok || field == nil {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("%s: unexpected value %q", name, value)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", name, err)
		}
		*field = kb << 10
		found++
	}
	if found != 4 {
		return m, fmt.Errorf("VmRSS, VmHWM, RssAnon or RssFile missing from the process status")
	}
	return m, nil
}
