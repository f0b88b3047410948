package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "driftbench:", err)
		os.Exit(1)
	}
}

// Options are the command line, parsed.
type Options struct {
	// Sizes are the numbers of objects tracked for the latency and quiet
	// measurements; none skips them.
	Sizes []int
	// Changes is the number of out-of-band changes per size.
	Changes int
	// Quiet is how long requests are counted while nothing changes.
	Quiet time.Duration
	// DaemonSizes are the numbers of objects the daemon follows for the
	// memory measurement; none skips it.
	DaemonSizes []int
	// PerInstallation is the number of objects of one installation in the
	// daemon's repository.
	PerInstallation int
	// SyncTimeout bounds the daemon's initial sync.
	SyncTimeout time.Duration
	// Gitopsd is the daemon binary; built from the module when empty.
	Gitopsd string
	// Out is the Markdown file whose "Drift benchmark" section the report
	// replaces; none when empty.
	Out string
}

// Validate rejects options that cannot run.
func (o Options) Validate() error {
	for _, n := range append(append([]int(nil), o.Sizes...), o.DaemonSizes...) {
		if n < objects.NamespaceShare {
			return fmt.Errorf("size %d: a size needs at least %d objects", n, objects.NamespaceShare)
		}
	}
	if len(o.Sizes) > 0 && o.Changes < len(changeKinds) {
		return fmt.Errorf("-changes %d: need at least %d, one of each kind", o.Changes, len(changeKinds))
	}
	if len(o.Sizes) > 0 && o.Quiet <= 0 {
		return fmt.Errorf("-quiet %s: need a window", o.Quiet)
	}
	if o.PerInstallation < objects.NamespaceShare {
		return fmt.Errorf("-per-installation %d: need at least %d", o.PerInstallation, objects.NamespaceShare)
	}
	if len(o.Sizes) == 0 && len(o.DaemonSizes) == 0 {
		return errors.New("nothing to measure: -n and -daemon-n are both empty")
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("driftbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "1000,5000", "comma-separated numbers of tracked objects for the latency and request measurements; empty to skip them")
	daemonSizes := fs.String("daemon-n", "5000,10000", "comma-separated numbers of objects the daemon follows for the memory measurement; empty to skip it")
	var o Options
	fs.IntVar(&o.Changes, "changes", 100, "out-of-band changes per size, made one at a time")
	fs.DurationVar(&o.Quiet, "quiet", 30*time.Second, "how long to count requests while nothing changes")
	fs.IntVar(&o.PerInstallation, "per-installation", 1000, "objects per installation in the daemon's repository")
	fs.DurationVar(&o.SyncTimeout, "sync-timeout", 20*time.Minute, "how long the daemon may take to make every installation Ready")
	fs.StringVar(&o.Gitopsd, "gitopsd", "", "gitopsd binary to run; default: built from the module")
	fs.StringVar(&o.Out, "out", "RESULTS.md", "Markdown file to write the report to; empty for none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.Sizes, err = parseSizes("-n", *sizes); err != nil {
		return o, err
	}
	if o.DaemonSizes, err = parseSizes("-daemon-n", *daemonSizes); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func parseSizes(flagName, list string) ([]int, error) {
	var sizes []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// Main runs the measurements opts asks for, each size on a control plane
// of its own, and prints the report to stdout and to the -out file;
// progress goes to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	workDir, err := os.MkdirTemp("", "driftbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)

	report := &Report{
		Machine: results.ThisMachine(),
		Changes: opts.Changes,
	}
	for _, n := range opts.Sizes {
		err := onPlane(ctx, stderr, report, func(env *testenv.Env) error {
			fmt.Fprintf(stderr, "driftbench: %d objects: applying and tracking\n", n)
			det, err := StartDetection(ctx, env, objects.Generate(fmt.Sprintf("drift-%d", n), n))
			if err != nil {
				return err
			}
			defer det.Stop()
			fmt.Fprintf(stderr, "driftbench: %d objects: a no-op reconcile\n", n)
			rec, err := det.MeasureReconcile(ctx)
			if err != nil {
				return err
			}
			report.Reconcile = append(report.Reconcile, rec)
			lat, err := det.MeasureLatency(ctx, opts.Changes, stderr)
			if err != nil {
				return err
			}
			report.Latency = append(report.Latency, lat)
			fmt.Fprintf(stderr, "driftbench: %d objects: counting requests for %s while nothing changes\n", n, opts.Quiet)
			quiet, err := det.MeasureQuiet(ctx, opts.Quiet)
			if err != nil {
				return err
			}
			report.Quiet = append(report.Quiet, quiet)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%d objects: %w", n, err)
		}
	}
	if len(opts.DaemonSizes) > 0 {
		bin := opts.Gitopsd
		if bin == "" {
			fmt.Fprintln(stderr, "driftbench: building gitopsd")
			if bin, err = buildGitopsd(ctx, workDir); err != nil {
				return err
			}
		}
		for _, n := range opts.DaemonSizes {
			err := onPlane(ctx, stderr, report, func(env *testenv.Env) error {
				fmt.Fprintf(stderr, "driftbench: daemon with %d objects\n", n)
				mem, err := MeasureDaemon(ctx, env, DaemonRun{
					Binary: bin, Dir: workDir, Objects: n, PerInstallation: opts.PerInstallation, SyncTimeout: opts.SyncTimeout,
				}, stderr)
				if err != nil {
					return err
				}
				report.Daemon = append(report.Daemon, mem)
				return nil
			})
			if err != nil {
				return fmt.Errorf("daemon, %d objects: %w", n, err)
			}
		}
	}

	report.LoadAfter = results.LoadAverage()
	md := report.Markdown()
	fmt.Fprint(stdout, md)
	if opts.Out != "" {
		return results.WriteSection(opts.Out, md)
	}
	return nil
}

// onPlane starts a control plane, runs measure on it, and stops it.
func onPlane(ctx context.Context, stderr io.Writer, report *Report, measure func(*testenv.Env) error) error {
	fmt.Fprintln(stderr, "driftbench: starting a control plane")
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	env, err := testenv.Start(startCtx, testenv.Options{Size: testenv.API})
	cancel()
	if err != nil {
		return err
	}
	defer env.Stop()
	if report.KubernetesVersion == "" {
		version, err := env.Client.Discovery().ServerVersion()
		if err != nil {
			return err
		}
		report.KubernetesVersion = version.GitVersion
	}
	return measure(env)
}
