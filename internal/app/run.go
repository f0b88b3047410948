package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// runFlags are the flags of `gitopsd run`.
type runFlags struct {
	src                 sourceFlags
	kube                kubeFlags
	targets             string
	listTargets         bool
	httpAddr            string
	webhookSecretFile   string
	apiTokenFile        string
	leaderElect         bool
	leaderElectionID    string
	leaderElectionNS    string
	leaseDuration       time.Duration
	maxBackoff          time.Duration
	shutdownGrace       time.Duration
	concurrency         int
	logLevel, logFormat string
	pprof               bool
	memoryLimit         string
	podName             string // $POD_NAME in a pod: the Lease names the holder by it
	plan                planFlags
	advertiseAddr       string
	podIP               string // $POD_IP in a pod: the default advertised address
	podNamespace        string // $POD_NAMESPACE in a pod: never pruned
}

func (f *runFlags) register(fs *flag.FlagSet) {
	f.src.registerRepo(fs)
	f.kube.register(fs)
	fs.StringVar(&f.targets, "target", "all", "comma-separated modules to run (see -list-targets)")
	fs.BoolVar(&f.listTargets, "list-targets", false, "print the targets and their dependencies, and exit")
	fs.StringVar(&f.httpAddr, "http-addr", ":8080", "address of the HTTP server: the status page (/), /healthz, /readyz, /metrics, /api/v1/installations, /api/v1/plans, POST /api/v1/installations/NAME/{promote,rollback}, POST /hooks/github")
	fs.DurationVar(&f.src.interval, "interval", time.Minute, "how often to poll the repository")
	fs.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file holding the GitHub webhook secret; without it the webhook (POST /hooks/github) is off")
	fs.StringVar(&f.apiTokenFile, "api-token-file", "", "file holding the bearer token that POST /api/v1/installations/NAME/{promote,rollback} require; without it they answer 403")
	fs.BoolVar(&f.leaderElect, "leader-elect", inCluster(), "hold a Lease so that only one replica applies (default true in a cluster)")
	fs.StringVar(&f.leaderElectionID, "leader-election-id", "", "name of the Lease (default derived from the repository and ref)")
	fs.StringVar(&f.leaderElectionNS, "leader-election-namespace", envOr("POD_NAMESPACE", inventory.DefaultNamespace), "namespace of the Lease; $POD_NAMESPACE in a pod")
	fs.DurationVar(&f.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long a dead leader's Lease blocks a standby")
	fs.DurationVar(&f.maxBackoff, "max-backoff", 5*time.Minute, "longest wait between retries of a failed reconcile")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 30*time.Second, "how long an apply under way may finish after SIGTERM")
	fs.IntVar(&f.concurrency, "concurrency", 8, "objects applied at once within a stage")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&f.memoryLimit, "memory-limit", memoryAuto, "soft limit of the Go runtime's memory (e.g. 400Mi; none for no limit): the garbage collector works harder near it; auto is 90% of the cgroup's memory limit, or none without one; GOMEMLIMIT overrides it")
	fs.BoolVar(&f.pprof, "enable-pprof", false, "serve Go's profiles at /debug/pprof/ on the HTTP server")
	fs.StringVar(&f.advertiseAddr, "advertise-addr", "", "host:port at which the other replicas reach this one's HTTP server, published in the Lease so that a standby forwards webhooks to the leader (default $POD_IP and the port of --http-addr)")
	f.podName, f.podIP, f.podNamespace = os.Getenv("POD_NAME"), os.Getenv("POD_IP"), os.Getenv("POD_NAMESPACE")
	f.plan.register(fs)
}

func (f *runFlags) validate() error {
	if f.src.repo == "" {
		return &ExitError{Code: 2, Err: fmt.Errorf("run follows a repository: give --repo (or GITOPSD_REPO)")}
	}
	if f.concurrency < 1 {
		return &ExitError{Code: 2, Err: fmt.Errorf("--concurrency %d must be at least 1", f.concurrency)}
	}
	if _, err := parseLevel(f.logLevel); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if f.logFormat != "text" && f.logFormat != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--log-format %q: use text or json", f.logFormat)}
	}
	return nil
}

// leaseName is --leader-election-id, or one derived from the source's
// identity: daemons following different repositories do not block each
// other, and daemons following one repository and ref elect on one Lease
// however each spells them (see source.Identity).
func (f *runFlags) leaseName() string {
	if f.leaderElectionID != "" {
		return f.leaderElectionID
	}
	id, err := source.Identity(f.src.repo, f.src.ref)
	if err != nil {
		id = f.src.repo + "\x00" + f.src.ref // the poller refuses it, saying why
	}
	sum := sha256.Sum256([]byte(id))
	return "gitopsd-" + hex.EncodeToString(sum[:5])
}

func runRun(ctx context.Context, args []string, out, errOut io.Writer) error {
	var f runFlags
	fs := newFlagSet("run", "--repo URL [--ref REF] [--kubeconfig PATH] [--target LIST] [--http-addr ADDR] [--interval D] [--webhook-secret-file F] [--leader-elect]", errOut)
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	d := newDaemon(&f, nil)
	if f.listTargets {
		return d.listTargets(out)
	}
	if err := f.validate(); err != nil {
		return err
	}
	memory, err := memoryFor(f.memoryLimit, os.Getenv, rootFS())
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	memory.apply()
	level, _ := parseLevel(f.logLevel)
	d.log = newLogger(errOut, level, f.logFormat)
	if memory.Limit > 0 {
		d.log.Info("go memory limit set", logkey.MemoryLimit, memory.Limit, logkey.Reason, memory.From)
	}
	var targets []string
	for _, t := range strings.Split(f.targets, ",") {
		targets = append(targets, strings.TrimSpace(t))
	}
	d.log.Info("starting gitopsd", logkey.Version, version, logkey.Targets, targets, logkey.RepoURL, source.RedactURL(f.src.repo), logkey.Ref, f.src.ref)
	return d.registry.Run(ctx, targets)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// envOr is the environment variable name, or def when it is unset or
// empty. POD_NAME and POD_NAMESPACE come from the Downward API (deploy/).
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// inCluster reports whether gitopsd runs in a pod without a kubeconfig.
func inCluster() bool {
	return os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBECONFIG") == ""
}

// listTargets prints each target with what it depends on.
func (d *daemon) listTargets(out io.Writer) error {
	for _, t := range d.registry.Targets() {
		order, err := d.registry.Order([]string{t})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-11s runs %s\n", t, strings.Join(order, ", "))
	}
	return nil
}
