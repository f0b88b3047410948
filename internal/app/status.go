package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
)

// status is the daemon's state now, which internal/web serves as JSON and
// as pages.
func (d *daemon) status() web.Status {
	s := web.Status{Status: d.reconciler.Status(), Leading: d.leading()}
	if d.poller != nil {
		s.Source = web.NewSourceStatus(d.poller.Status())
	}
	if d.checker != nil {
		s.PullRequests = &web.PullRequests{Context: d.planContext, Pulls: d.checker.Pulls()}
	}
	return s
}

// plan is an open pull request's plan check with its plan, for its page;
// none when plan checks are off.
func (d *daemon) plan(number int) (plancheck.Pull, bool) {
	if d.checker == nil {
		return plancheck.Pull{}, false
	}
	return d.checker.Pull(number)
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
	var s web.Status
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("read status from %s: %w", serverURL, err)
	}
	s.WriteTable(out, time.Now())
	printBlueGreen(out, s.Installations)
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
		return nil, fmt.Errorf("status: cannot reach the daemon (is it running?): %w", err)
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

// short is a commit as a table shows it, "-" when there is none.
func short(commit string) string {
	if commit == "" {
		return "-"
	}
	return logkey.ShortSHA(commit)
}
