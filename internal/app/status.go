package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// statusResponse is the body of GET /api/v1/installations.
type statusResponse struct {
	// Leading is false on a standby replica, which applies nothing.
	Leading bool          `json:"leading"`
	Source  *sourceStatus `json:"source,omitempty"`
	reconcile.Status
}

type sourceStatus struct {
	URL                 string     `json:"url"`
	Ref                 string     `json:"ref"`
	Commit              string     `json:"commit,omitempty"`
	LastSuccess         *time.Time `json:"lastSuccess,omitempty"`
	LastError           string     `json:"lastError,omitempty"`
	LastErrorTime       *time.Time `json:"lastErrorTime,omitempty"`
	ConsecutiveFailures int        `json:"consecutiveFailures,omitempty"`
	NextPoll            *time.Time `json:"nextPoll,omitempty"`
}

func newSourceStatus(s source.Status) *sourceStatus {
	out := &sourceStatus{URL: s.URL, Ref: s.Ref, Commit: s.Commit, ConsecutiveFailures: s.ConsecutiveFailures}
	if !s.LastSuccess.IsZero() {
		out.LastSuccess = &s.LastSuccess
	}
	if s.LastError != nil {
		out.LastError = s.LastError.Error()
		out.LastErrorTime = &s.LastErrorTime
	}
	if !s.NextPoll.IsZero() {
		out.NextPoll = &s.NextPoll
	}
	return out
}

func (d *daemon) statusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		resp := statusResponse{Status: d.reconciler.Status(), Leading: d.leading()}
		if d.poller != nil {
			resp.Source = newSourceStatus(d.poller.Status())
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(resp)
	})
}

func runStatus(ctx context.Context, args []string, out, errOut io.Writer) error {
	var serverURL, output string
	fs := newFlagSet("status", "[--server URL] [-o table|json]", errOut)
	fs.StringVar(&serverURL, "server", "http://localhost:8080", "address of a running gitopsd's HTTP server")
	fs.StringVar(&output, "o", "table", "output format: table or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if output != "table" && output != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("-o %q: use table or json", output)}
	}
	body, err := fetchStatus(ctx, strings.TrimRight(serverURL, "/")+"/api/v1/installations")
	if err != nil {
		return err
	}
	if output == "json" {
		_, err := out.Write(body)
		return err
	}
	var resp statusResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("read status from %s: %w", serverURL, err)
	}
	printStatus(out, &resp, time.Now())
	return printPlans(ctx, out, strings.TrimRight(serverURL, "/"))
}

func fetchStatus(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gitopsd status: cannot reach the daemon (is it running?): %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, res.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// printStatus prints the source and one row per installation.
func printStatus(out io.Writer, s *statusResponse, now time.Time) {
	if src := s.Source; src != nil {
		fmt.Fprintf(out, "repository %s @ %s: commit %s", src.URL, src.Ref, short(src.Commit))
		if src.LastError != "" {
			fmt.Fprintf(out, " (last poll failed %s ago: %s)", ago(src.LastErrorTime, now), src.LastError)
		}
		fmt.Fprintln(out)
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
		msg := in.Message
		if in.Phase == reconcile.Failed && in.NextRetry != nil {
			msg += fmt.Sprintf(" (retry in %s)", in.NextRetry.Sub(now).Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.Phase, short(in.AppliedCommit), ago(in.LastApplyTime, now), objectCounts(in.Objects), oneLine(msg, 100))
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

func objectCounts(counts map[string]int) string {
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

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "-"
	}
	return commit
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
