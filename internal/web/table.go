package web

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// WriteTable prints the status as `gitopsd status` shows it: the source,
// the daemon's troubles, one row per installation, then what is not ready,
// drifted or not watched.
func (s *Status) WriteTable(out io.Writer, now time.Time) {
	if s.Source != nil {
		fmt.Fprintln(out, sourceLine(s.Source, now))
	}
	if !s.Leading {
		fmt.Fprintln(out, "standby: another replica holds the lease and applies")
	}
	if s.ConfigError != "" {
		fmt.Fprintf(out, "configuration error at %s: %s\n", short(s.Commit), s.ConfigError)
	}
	if c := s.Cluster; c != nil && c.Since != nil {
		fmt.Fprintf(out, "cluster unreachable for %s (since %s): %s\n", now.Sub(*c.Since).Round(time.Second), c.Since.UTC().Format(time.RFC3339), c.Error)
	}
	if s.DriftError != "" {
		fmt.Fprintln(out, s.DriftError)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTALLATION\tPHASE\tAPPLIED\tLAST APPLY\tOBJECTS\tMESSAGE")
	for _, in := range s.Installations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.Phase, short(in.AppliedCommit), ago(in.LastApplyTime, now),
			objectCount(in.Objects), oneLine(message(in, now), 100))
	}
	tw.Flush()
	for _, in := range s.Installations {
		for _, nr := range in.NotReady {
			fmt.Fprintf(out, "%s: not ready: %s: %s\n", in.Name, nr.Object, oneLine(nr.Message, 120))
		}
		for _, dr := range in.Drift {
			fmt.Fprintf(out, "%s: drift: %s: %s\n", in.Name, dr.Object, oneLine(driftLine(dr), 120))
		}
		for _, p := range in.DriftProblems {
			fmt.Fprintf(out, "%s: drift not seen: %s\n", in.Name, oneLine(p, 120))
		}
	}
}

// sourceLine says which commit the daemon holds, and whether a look at the
// repository is under way or failing, and since when.
func sourceLine(src *SourceStatus, now time.Time) string {
	line := fmt.Sprintf("repository %s @ %s: commit %s", src.URL, src.Ref, short(src.Commit))
	if src.PollingSince != nil {
		line += "; looking at the repository " + since(*src.PollingSince, now)
	}
	if src.LastError != "" {
		start := src.LastErrorTime
		if src.FailingSince != nil {
			start = src.FailingSince
		}
		line += fmt.Sprintf("; failing %s, %d round(s): %s", since(*start, now), src.ConsecutiveFailures, src.LastError)
	}
	return line
}

// since reads "for 1m30s (since 2026-11-30T10:00:00Z)", as the cluster's
// outage does.
func since(t, now time.Time) string {
	return fmt.Sprintf("for %s (since %s)", now.Sub(t).Round(time.Second), t.UTC().Format(time.RFC3339))
}

// message is an installation's message, with when a failure is retried.
func message(in reconcile.InstallationStatus, now time.Time) string {
	if in.Phase == reconcile.Failed && in.NextRetry != nil {
		return in.Message + fmt.Sprintf(" (retry in %s)", in.NextRetry.Sub(now).Round(time.Second))
	}
	return in.Message
}

func driftLine(d reconcile.DriftStatus) string {
	what := strings.Join(d.Fields, ", ") + " changed"
	if d.Deleted {
		what = "deleted"
	}
	if len(d.Managers) > 0 {
		what += " by " + strings.Join(d.Managers, ", ")
	}
	what += "; " + d.Action
	if d.Message != "" {
		what += ": " + d.Message
	}
	return what
}

// objectCount is how many objects the installation has in the cluster
// after its last apply: all but those it pruned; "-" before any apply.
func objectCount(counts map[string]int) string {
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return "-"
	}
	return fmt.Sprint(total - counts["deleted"])
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return now.Sub(*t).Round(time.Second).String() + " ago"
}

// short is a commit as a table shows it, "-" when there is none.
func short(commit string) string {
	if commit == "" {
		return "-"
	}
	return logkey.ShortSHA(commit)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
