package app

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// memoryAuto is --memory-limit's default: from the cgroup's limit.
const memoryAuto = "auto"

// memoryShare is the part of a cgroup's memory limit the Go heap, stacks
// and runtime may take before the collector works harder to stay below
// it; the rest is left to the executable's pages and memory outside Go.
const memoryShare = 0.9

// gcPercent is the daemon's GOGC. It holds thousands of objects packed,
// and its peaks come from decoding whole installations at once (the
// initial apply, the periodic reconciles, each of ten installations
// around the same time): collecting when the heap has grown by a quarter
// rather than doubled (Go's default of 100) keeps those peaks lower, for
// more frequent collections of a heap that is mostly idle.
const gcPercent = 25

// memorySettings are the Go runtime's memory settings a daemon runs with.
type memorySettings struct {
	// GCPercent is GOGC; 0 when the GOGC variable sets it.
	GCPercent int
	// Limit is the soft memory limit in bytes; 0 for none, or when the
	// GOMEMLIMIT variable sets it.
	Limit int64
	// From says where Limit comes from, for the log.
	From string
}

// memoryFor works out the settings for --memory-limit flag (memoryAuto, 0
// or none for no limit, or a quantity such as 400Mi), with GOGC and
// GOMEMLIMIT from getenv taking precedence, and the cgroup limit read from
// root (/ but in tests).
func memoryFor(flag string, getenv func(string) string, root fs.FS) (memorySettings, error) {
	var s memorySettings
	if getenv("GOGC") == "" {
		s.GCPercent = gcPercent
	}
	switch {
	case getenv("GOMEMLIMIT") != "":
		s.From = "GOMEMLIMIT"
		return s, nil
	case flag == memoryAuto:
		limit, file := cgroupMemoryLimit(root)
		if limit > 0 {
			s.Limit, s.From = int64(float64(limit)*memoryShare), fmt.Sprintf("%.0f%% of %s", memoryShare*100, file)
		}
		return s, nil
	case flag == "none":
		return s, nil
	}
	q, err := resource.ParseQuantity(flag)
	if err != nil || q.Sign() < 0 {
		return s, fmt.Errorf("--memory-limit %q: give a size such as 400Mi, 0 or none for no limit, or auto for %.0f%% of the cgroup's limit", flag, memoryShare*100)
	}
	s.Limit, s.From = q.Value(), "--memory-limit"
	return s, nil
}

// apply sets the runtime's memory settings.
func (s memorySettings) apply() {
	if s.GCPercent > 0 {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.Limit > 0 {
		debug.SetMemoryLimit(s.Limit)
	}
}

// noLimit is at least what cgroups write for "no limit" (v1 writes the
// largest page-aligned int64).
const noLimit = 1 << 62

// cgroupMemoryLimit returns the memory limit of this process's cgroup
// (v2, else v1) and the file it was read from; 0 when there is none. The
// process's own cgroup is tried first, then the root of the mount, which
// is the container's own cgroup when /proc/self/cgroup names a path of
// the host.
func cgroupMemoryLimit(root fs.FS) (int64, string) {
	v2, v1 := "/", "/"
	if data, err := fs.ReadFile(root, "proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			parts := strings.SplitN(line, ":", 3)
			switch {
			case len(parts) != 3:
			case parts[0] == "0" && parts[1] == "":
				v2 = parts[2]
			case strings.Contains(","+parts[1]+",", ",memory,"):
				v1 = parts[2]
			}
		}
	}
	for _, file := range []string{
		path.Join("sys/fs/cgroup", v2, "memory.max"),
		"sys/fs/cgroup/memory.max",
		path.Join("sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"),
		"sys/fs/cgroup/memory/memory.limit_in_bytes",
	} {
		data, err := fs.ReadFile(root, file)
		if err != nil {
			continue
		}
		value := strings.TrimSpace(string(data))
		if value == "max" {
			return 0, ""
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 || n >= noLimit {
			return 0, ""
		}
		return n, "/" + file
	}
	return 0, ""
}

// rootFS is the machine's file system, for cgroupMemoryLimit.
func rootFS() fs.FS { return os.DirFS("/") }
