package results

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Machine is where and when a benchmark ran.
type Machine struct {
	Date              time.Time
	Cores             int
	Platform          string // such as linux/amd64
	GoVersion         string
	KubernetesVersion string
	// LoadBefore and LoadAfter are the 1-, 5- and 15-minute load averages
	// when the run started and ended, when the system says.
	LoadBefore, LoadAfter string
}

// ThisMachine describes this machine now; the caller adds the Kubernetes
// version and, at the end, LoadAfter.
func ThisMachine() Machine {
	return Machine{
		Date:       time.Now(),
		Cores:      runtime.NumCPU(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		GoVersion:  runtime.Version(),
		LoadBefore: LoadAverage(),
	}
}

// Header is the Markdown heading title, followed by where and when the run
// was measured and how to reproduce it.
func (m Machine) Header(title, reproduce string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "Measured %s on %d cores (%s), Kubernetes %s (etcd and kube-apiserver only), %s.\n",
		m.Date.UTC().Format("2006-01-02 15:04 MST"), m.Cores, m.Platform, m.KubernetesVersion, m.GoVersion)
	if m.LoadBefore != "" {
		fmt.Fprintf(&b, "Load average (1, 5, 15 min) %s at the start and %s at the end: other work shares the cores.\n", m.LoadBefore, m.LoadAfter)
	}
	fmt.Fprintf(&b, "Reproduce with %s.\n\n", reproduce)
	return b.String()
}

// Target is one of the goals a benchmark checks gitopsd against.
type Target struct {
	N        int
	Goal     string
	Measured string
	// Met is nil when the run did not measure what the target needs.
	Met *bool
}

// TargetTable is targets as a Markdown table.
func TargetTable(targets []Target) string {
	var b strings.Builder
	b.WriteString("| objects | target | measured | met |\n|---:|---|---|---|\n")
	for _, t := range targets {
		met, measured := "not measured", t.Measured
		if t.Met != nil {
			met = map[bool]string{true: "**met**", false: "**not met**"}[*t.Met]
		}
		if measured == "" {
			measured = "—"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", t.N, t.Goal, measured, met)
	}
	return b.String()
}
