package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"k8s.io/client-go/kubernetes"
)

// cutovers builds what drives blue/green installations and, with a GitHub
// token, reports them back (nil reporter without one); it reads the API
// token that promote and rollback require.
func (d *daemon) cutovers(client kubernetes.Interface) (*bluegreen.Cutover, *bluegreen.GitHubReporter, string, error) {
	token := ""
	if d.flags.apiTokenFile != "" {
		var err error
		if token, err = readToken(d.flags.apiTokenFile); err != nil {
			return nil, nil, "", err
		}
	}
	gh, err := d.githubClient()
	if err != nil {
		return nil, nil, "", err
	}
	deps := bluegreen.Deps{Client: client, Store: bluegreen.NewStore(client, inventory.DefaultNamespace), Log: d.log}
	var reporter *bluegreen.GitHubReporter
	if gh != nil {
		ropts := bluegreen.DefaultReporterOptions()
		ropts.Cluster, ropts.ExternalURL = d.flags.plan.cluster, d.flags.plan.externalURL
		if reporter, err = bluegreen.NewGitHubReporter(gh, d.log, ropts); err != nil {
			return nil, nil, "", err
		}
		deps.Gate, deps.Reporter = gh, reporter
	} else {
		d.log.Info("blue/green cutovers neither gated on merged pull requests nor reported: no --github-token-file or --github-token-env; requireMergedPR cutovers wait for gitopsd promote")
	}
	opts := bluegreen.DefaultOptions()
	opts.Branch = strings.TrimPrefix(d.flags.src.ref, "refs/heads/")
	c, err := bluegreen.New(deps, opts)
	return c, reporter, token, err
}

// githubClient is the one GitHub client of the daemon, built at the first
// call; nil without a token.
func (d *daemon) githubClient() (*github.Client, error) {
	d.gh.once.Do(func() {
		if !d.flags.plan.enabled() {
			return
		}
		opts, err := d.flags.plan.clientOptions(d.flags.src.repo)
		if err != nil {
			d.gh.err = err
			return
		}
		d.gh.client, d.gh.err = github.NewClient(opts, github.Deps{Registerer: d.metrics, Log: d.log})
	})
	return d.gh.client, d.gh.err
}

// printBlueGreen adds to `gitopsd status` a line per blue/green
// installation: its live colour and commit, its idle colour, and where its
// last cutover is.
func printBlueGreen(out io.Writer, installations []reconcile.InstallationStatus) {
	for _, in := range installations {
		bg := in.BlueGreen
		if bg == nil {
			continue
		}
		live := "a plain Deployment"
		if bg.Live != "" {
			live = string(bg.Live) + " (commit " + short(bg.LiveCommit) + ")"
		}
		line := fmt.Sprintf("%s: blue/green: live %s, idle %s", in.Name, live, bg.Idle)
		if a := bg.Cutover; a != nil {
			what := a.Reason
			if what == "" && len(a.Events) > 0 {
				what = a.Events[len(a.Events)-1].Message
			}
			line += fmt.Sprintf("; cutover #%d of %s: %s at step %s: %s", a.Number, short(a.Commit), bg.Phase, bg.Step, what)
		}
		// Whole, on one line: a pipe or a file gets all of it, and a
		// terminal wraps it.
		fmt.Fprintln(out, strings.Join(strings.Fields(line), " "))
	}
}

// commander is what the promote and rollback endpoints need from the
// reconciler.
type commander interface {
	Promote(ctx context.Context, name string) (string, error)
	Rollback(ctx context.Context, name string) (string, error)
}

var _ commander = (*reconcile.Reconciler)(nil)

// commandReply is the body of an answer of the promote and rollback
// endpoints.
type commandReply struct {
	Installation string `json:"installation"`
	Command      string `json:"command"`
	Message      string `json:"message,omitempty"`
	Error        string `json:"error,omitempty"`
}

// commandTimeout bounds how long an endpoint waits for the worker: a
// rollback to a colour scaled down waits until it is available again.
const commandTimeout = 10 * time.Minute

// registerCommands adds POST /api/v1/installations/NAME/{promote,rollback}
// to mux. They change the cluster, so they answer only requests that bear
// token; without a token configured they answer 403. leading says whether
// this replica reconciles.
func registerCommands(mux *http.ServeMux, c commander, token string, leading func() bool) {
	for name, do := range map[string]func(context.Context, string) (string, error){"promote": c.Promote, "rollback": c.Rollback} {
		mux.HandleFunc("POST /api/v1/installations/{name}/"+name, func(w http.ResponseWriter, r *http.Request) {
			reply := commandReply{Installation: r.PathValue("name"), Command: name}
			status := authorize(r, token)
			if status == http.StatusOK {
				ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
				defer cancel()
				var err error
				if reply.Message, err = do(ctx, reply.Installation); err != nil {
					status, reply.Error = commandStatus(err, leading()), err.Error()
				}
			} else {
				reply.Error = http.StatusText(status) + ": " + authProblem(status)
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gitopsd"`)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(reply)
		})
	}
}

// authorize checks the request's bearer token against token.
func authorize(r *http.Request, token string) int {
	if token == "" {
		return http.StatusForbidden
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

func authProblem(status int) string {
	if status == http.StatusForbidden {
		return "promote and rollback are off; start gitopsd with --api-token-file to allow them"
	}
	return "send the token of --api-token-file as Authorization: Bearer TOKEN"
}

// commandStatus is the HTTP status of a command that failed.
func commandStatus(err error, leading bool) int {
	switch {
	case errors.Is(err, reconcile.ErrNoInstallation):
		return http.StatusNotFound
	case errors.Is(err, reconcile.ErrNotReconciled) && !leading:
		return http.StatusServiceUnavailable
	case errors.Is(err, reconcile.ErrNotReconciled):
		return http.StatusNotFound
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusConflict
}

// readToken reads a token file; empty is an error, trailing whitespace is
// not part of the token.
func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read API token: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("read API token: %s is empty", path)
	}
	return token, nil
}

func runPromote(ctx context.Context, args []string, out, errOut io.Writer) error {
	return runCommand(ctx, "promote", `Release a blue/green cutover held by the gate (a commit not from a merged pull
request) or by autoPromote: false; end the hold of a rollback, cutting over
again to the commit rolled back from; or try a failed cutover again.`, args, out, errOut)
}

func runRollback(ctx context.Context, args []string, out, errOut io.Writer) error {
	return runCommand(ctx, "rollback", `Switch a blue/green installation's Services back to the colour its last
cutover took them from (scaling it up first, and waiting for it, if its
scaleDownDelay had passed), or stop a cutover under way, and hold the
installation there until a commit changes the Deployment or gitopsd promote
NAME. Refused while a rollback already holds, and when the last cutover did
not switch: it never rolls forward.`, args, out, errOut)
}

// runCommand sends a command to a running daemon and prints its answer;
// help is the paragraph of its -h.
func runCommand(ctx context.Context, command, help string, args []string, out, errOut io.Writer) error {
	var serverURL, tokenFile string
	fs := newFlagSet(command, "[--server URL] --api-token-file FILE NAME\n\n"+help, errOut)
	fs.StringVar(&serverURL, "server", "http://localhost:8080", "address of a running gitopsd's HTTP server")
	fs.StringVar(&tokenFile, "api-token-file", "", "file holding the daemon's API token (its --api-token-file); required")
	name, err := parseNamed(fs, args)
	if err != nil {
		return err
	}
	if tokenFile == "" {
		return &ExitError{Code: 2, Err: errors.New("--api-token-file is required: the daemon allows " + command + " only with its token")}
	}
	token, err := readToken(tokenFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	url := strings.TrimRight(serverURL, "/") + "/api/v1/installations/" + name + "/" + command
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: cannot reach the daemon (is it running?): %w", command, err)
	}
	defer res.Body.Close()
	var reply commandReply
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err := json.Unmarshal(body, &reply); err != nil {
		return fmt.Errorf("%s: %s: %s", command, res.Status, strings.TrimSpace(string(body)))
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", command, name, reply.Error)
	}
	msg := reply.Message
	if msg == "" {
		msg = "done"
	}
	_, err = fmt.Fprintf(out, "%s: %s\n", name, msg)
	return err
}

// parseNamed parses args holding one positional argument, the name, with
// flags before or after it.
func parseNamed(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		code := 2
		if errors.Is(err, flag.ErrHelp) {
			code = 0
		}
		return "", &ExitError{Code: code} // the flag package has printed it
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return "", &ExitError{Code: 2, Err: fmt.Errorf("name the installation: gitopsd %s NAME", fs.Name())}
	}
	if err := parse(fs, rest[1:]); err != nil {
		return "", err
	}
	return rest[0], nil
}
