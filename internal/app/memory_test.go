package app

import (
	"testing"
	"testing/fstest"
)

// TestMemorySettings: the daemon's GOGC and soft memory limit come from
// --memory-limit and the cgroup's limit, and the GOGC and GOMEMLIMIT
// variables take precedence, so that an operator's setting always wins.
func TestMemorySettings(t *testing.T) {
	v2 := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("536870912\n")},
	}
	v2Unlimited := fstest.MapFS{
		"proc/self/cgroup":         {Data: []byte("0::/\n")},
		"sys/fs/cgroup/memory.max": {Data: []byte("max\n")},
	}
	// cgroup v1 on a host: the process's own cgroup holds the limit; the
	// root's is the largest page-aligned int64, "no limit".
	v1 := fstest.MapFS{
		"proc/self/cgroup": {Data: []byte("4:memory:/pods/web\n3:cpuset:/\n0::/\n")},
		"sys/fs/cgroup/memory/pods/web/memory.limit_in_bytes": {Data: []byte("1073741824\n")},
		"sys/fs/cgroup/memory/memory.limit_in_bytes":          {Data: []byte("9223372036854771712\n")},
	}
	v1Unlimited := fstest.MapFS{
		"proc/self/cgroup":                           {Data: []byte("4:memory:/\n")},
		"sys/fs/cgroup/memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
	}
	none := fstest.MapFS{}
	env := func(kv ...string) func(string) string {
		return func(name string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == name {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name      string
		flag      string
		env       func(string) string
		root      fstest.MapFS
		gcPercent int
		limit     int64
	}{
		{"auto in a cgroup v2 of 512Mi", memoryAuto, env(), v2, gcPercent, 483183820},
		{"auto in an unlimited cgroup v2", memoryAuto, env(), v2Unlimited, gcPercent, 0},
		{"auto in a cgroup v1 of 1Gi", memoryAuto, env(), v1, gcPercent, 966367641},
		{"auto in an unlimited cgroup v1", memoryAuto, env(), v1Unlimited, gcPercent, 0},
		{"auto without cgroups", memoryAuto, env(), none, gcPercent, 0},
		{"a size", "400Mi", env(), v2, gcPercent, 400 << 20},
		{"none", "none", env(), v2, gcPercent, 0},
		{"zero", "0", env(), v2, gcPercent, 0},
		{"GOMEMLIMIT wins", "400Mi", env("GOMEMLIMIT", "1GiB"), v2, gcPercent, 0},
		{"GOGC wins", memoryAuto, env("GOGC", "200"), none, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := memoryFor(tc.flag, tc.env, tc.root)
			if err != nil {
				t.Fatal(err)
			}
			if s.GCPercent != tc.gcPercent || s.Limit != tc.limit {
				t.Errorf("GOGC %d, limit %d; want %d, %d", s.GCPercent, s.Limit, tc.gcPercent, tc.limit)
			}
			if s.Limit > 0 && s.From == "" {
				t.Error("the limit does not say where it comes from")
			}
		})
	}
	for _, bad := range []string{"lots", "-1Gi", ""} {
		if _, err := memoryFor(bad, env(), none); err == nil {
			t.Errorf("--memory-limit %q accepted", bad)
		}
	}
}
