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
	// Sizes are the numbers of objects tracked.
	Sizes []int
	// Changes is the number of out-of-band changes per size.
	Changes int
	// Quiet is how long requests are counted while nothing changes.
	Quiet time.Duration
	// Out is the Markdown file whose "Drift benchmark" section the report
	// replaces; none when empty.
	Out string
}

// Validate rejects options that cannot run.
func (o Options) Validate() error {
	if len(o.Sizes) == 0 {
		return errors.New("-n needs at least one size")
	}
	for _, n := range o.Sizes {
		if n < objects.NamespaceShare {
			return fmt.Errorf("size %d: a size needs at least %d objects", n, objects.NamespaceShare)
		}
	}
	if o.Changes < len(changeKinds) {
		return fmt.Errorf("-changes %d: need at least %d, one of each kind", o.Changes, len(changeKinds))
	}
	if o.Quiet <= 0 {
		return fmt.Errorf("-quiet %s: need a window", o.Quiet)
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("driftbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "1000,5000", "comma-separated numbers of tracked objects")
	var o Options
	fs.IntVar(&o.Changes, "changes", 100, "out-of-band changes per size, made one at a time")
	fs.DurationVar(&o.Quiet, "quiet", 30*time.Second, "how long to count requests while nothing changes")
	fs.StringVar(&o.Out, "out", "RESULTS.md", "Markdown file to write the report to; empty for none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.Sizes, err = parseSizes("-n", *sizes); err != nil {
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
