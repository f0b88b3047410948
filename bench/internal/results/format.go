package results

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// FormatDuration prints d with a precision that suits its size.
func FormatDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	default:
		return fmt.Sprintf("%.2f s", ms/1000)
	}
}

// FormatRatio prints a ratio as a factor, and small ones also as a
// fraction, which reads more easily.
func FormatRatio(r float64) string {
	switch {
	case r == 0:
		return "0×"
	case r < 0.1:
		return fmt.Sprintf("%.2g× (1/%.0f)", r, 1/r)
	case r < 10:
		return fmt.Sprintf("%.2f×", r)
	default:
		return fmt.Sprintf("%.0f×", r)
	}
}

// FormatBytes prints a size in MiB.
func FormatBytes(b int64) string {
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// LoadAverage is the system's load averages over 1, 5 and 15 minutes, or
// "" where /proc/loadavg does not exist.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], ", ")
}
