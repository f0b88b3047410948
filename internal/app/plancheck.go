package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gitopsd/gitopsd/internal/modules"
	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// planFlags turn on plan checks of pull requests: a GitHub token enables
// them.
type planFlags struct {
	tokenFile, tokenEnv, apiURL, repository string
	cluster, externalURL                    string
	forks                                   bool
}

func (p *planFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.tokenFile, "github-token-file", "", "file holding a GitHub token; with it (or --github-token-env) pull requests get plan checks")
	fs.StringVar(&p.tokenEnv, "github-token-env", "", "environment variable holding a GitHub token")
	fs.StringVar(&p.apiURL, "github-api-url", github.DefaultAPIURL, "GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3/)")
	fs.StringVar(&p.repository, "github-repository", "", "OWNER/NAME the pull requests are in (default derived from a GitHub --repo URL)")
	fs.StringVar(&p.cluster, "cluster-name", "", "cluster name, appended to the status contexts (gitopsd/plan/NAME, gitopsd/cutover/NAME) so that two clusters report apart")
	fs.StringVar(&p.externalURL, "external-url", "", "URL this daemon is reachable at; statuses and comments link to its plans (URL/plans/N) and installations (URL/installations/NAME)")
	fs.BoolVar(&p.forks, "plan-fork-prs", false, "plan pull requests from forks too (never with remote bases or Helm)")
}

func (p *planFlags) enabled() bool { return p.tokenFile != "" || p.tokenEnv != "" }

// clientOptions are the GitHub client's options for following repo.
func (p *planFlags) clientOptions(repo string) (github.Options, error) {
	opts := github.DefaultOptions()
	opts.APIURL, opts.TokenFile, opts.TokenEnv, opts.Repository = p.apiURL, p.tokenFile, p.tokenEnv, p.repository
	// A check writes three times (pending, the comment, the result): let
	// one check's writes out at once, spaced by a second over time.
	opts.WriteBurst = 3
	if opts.Repository == "" {
		name, err := github.RepositoryOf(repo, p.apiURL)
		if err != nil {
			return opts, fmt.Errorf("plan checks: %w (--github-repository)", err)
		}
		opts.Repository = name
	}
	return opts, opts.Validate()
}

// checkOptions are the plan checks' options for the daemon's flags.
func (d *daemon) checkOptions() (plancheck.Options, error) {
	ref, err := source.ParseRef(d.flags.src.ref)
	if err == nil && ref.Kind != source.Branch {
		err = fmt.Errorf("--ref %s: pull requests merge into a branch", ref)
	}
	if err != nil {
		return plancheck.Options{}, fmt.Errorf("plan checks: %w", err)
	}
	opts := plancheck.DefaultOptions()
	opts.Branch, opts.Repository, opts.Source = ref.Name, source.RedactURL(d.flags.src.repo), d.poller.Identity()
	opts.Cluster, opts.ExternalURL, opts.PlanForks = d.flags.plan.cluster, d.flags.plan.externalURL, d.flags.plan.forks
	if d.flags.src.interval > 0 {
		opts.Interval = d.flags.src.interval
	}
	return opts, opts.Validate()
}

// initPlan builds the plan checks when a GitHub token is given. Pull
// requests are planned with renderers of their own, so that they never
// evict the tracked branch's renders; a fork's renderer never reaches
// beyond the commit.
func (d *daemon) initPlan(context.Context) (modules.Service, error) {
	if !d.flags.plan.enabled() {
		d.log.Info("plan checks off: no --github-token-file or --github-token-env")
		return nil, nil
	}
	opts, err := d.checkOptions()
	if err != nil {
		return nil, err
	}
	client, err := d.githubClient()
	if err != nil {
		return nil, err
	}
	manager, err := apply.NewManager(d.restConfig, inventory.NewStore(d.client, inventory.DefaultNamespace), d.log)
	if err != nil {
		return nil, err
	}
	renderOpts := d.flags.src.render
	renderOpts.Commits = opts.Workers + 1 // the base and a head per worker
	forkOpts := renderOpts
	forkOpts.AllowRemote, forkOpts.AllowHelm = false, false
	cutover, err := newCutover(d.client, d.log)
	if err != nil {
		return nil, err
	}
	load := planLoader(d.flags.src.name(), "")
	planner, err := plan.New(plan.Deps{Load: load, Renderer: render.NewRenderer(renderOpts, d.log), Differ: manager, Colours: cutover})
	if err != nil {
		return nil, err
	}
	forkPlanner, err := plan.New(plan.Deps{Load: load, Renderer: render.NewRenderer(forkOpts, d.log), Differ: manager, Colours: cutover})
	if err != nil {
		return nil, err
	}
	metrics := plancheck.NewMetrics()
	if err := metrics.Register(d.metrics); err != nil {
		return nil, err
	}
	checker, err := plancheck.New(opts, plancheck.Deps{
		GitHub: client, Fetcher: d.poller, Base: d.poller, Planner: planner, ForkPlanner: forkPlanner, Metrics: metrics, Log: d.log,
	})
	if err != nil {
		return nil, err
	}
	d.checker, d.planContext = checker, opts.StatusContext()
	d.pullRequests.to.Store(checker)
	d.mux.Handle("GET /api/v1/plans", plansHandler(checker, opts.StatusContext()))
	d.mux.Handle("GET /api/v1/plans/{number}", planHandler(checker))
	d.log.Info("plan checks on", logkey.GitHubRepository, client.Repository(), logkey.StatusContext, opts.StatusContext(), logkey.PlanForkPRs, opts.PlanForks)
	return modules.ServiceFunc(func(ctx context.Context) error {
		// Only the leader plans; a standby keeps what it was asked.
		if d.elector != nil {
			select {
			case <-d.elector.Started():
			case <-ctx.Done():
				return nil
			}
		}
		return checker.Run(ctx)
	}), nil
}

// pullRequestForwarder is the webhook's handler of pull requests: it hands
// them to the plan checks once the plan module built them, and drops them
// in a process that does not plan.
type pullRequestForwarder struct {
	to atomic.Pointer[plancheck.Checker]
}

var _ github.PullRequestHandler = (*pullRequestForwarder)(nil)

func (f *pullRequestForwarder) Plan(pr github.PullRequest) {
	if c := f.to.Load(); c != nil {
		c.Plan(pr)
	}
}

func (f *pullRequestForwarder) Forget(number int) {
	if c := f.to.Load(); c != nil {
		c.Forget(number)
	}
}

// plansHandler serves GET /api/v1/plans: the open pull requests and their
// checks, without the plans.
func plansHandler(c *plancheck.Checker, context string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, web.PullRequests{Context: context, Pulls: c.Pulls()})
	})
}

// planHandler serves GET /api/v1/plans/NUMBER: one pull request's check
// with its plan.
func planHandler(c *plancheck.Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("number"))
		pull, ok := c.Pull(n)
		if err != nil || !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no open pull request %q is known", r.PathValue("number"))})
			return
		}
		writeJSON(w, http.StatusOK, pull)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// printPlans prints the open pull requests' plan checks of the daemon at
// serverURL; nothing when it does not plan pull requests.
func printPlans(ctx context.Context, out io.Writer, serverURL string) error {
	code, body, err := get(ctx, serverURL+"/api/v1/plans")
	switch {
	case err != nil:
		return err
	case code == http.StatusNotFound:
		return nil
	case code != http.StatusOK:
		return fmt.Errorf("GET %s/api/v1/plans: %d: %s", serverURL, code, strings.TrimSpace(string(body)))
	}
	var resp web.PullRequests
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("read plans from %s: %w", serverURL, err)
	}
	fmt.Fprintf(out, "\npull request plans (%s):", resp.Context)
	if len(resp.Pulls) == 0 {
		fmt.Fprintln(out, " no open pull requests")
		return nil
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PULL REQUEST\tHEAD\tSTATE\tPLAN")
	for _, p := range resp.Pulls {
		what := p.Description
		if p.PostError != "" {
			what = "not posted: " + p.PostError
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\n", p.Number, short(p.Head), p.State, oneLine(what, 100))
	}
	return tw.Flush()
}

// get fetches url and returns its status code and body.
func get(ctx context.Context, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("status: cannot reach the daemon (is it running?): %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	return res.StatusCode, body, err
}

// oneLine folds s onto one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
