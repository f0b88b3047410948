package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/command"
	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
)

func main() { command.Run("driftbench", Main) }

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
	if err := command.CheckSizes(o.Sizes); err != nil {
		return err
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
	if o.Sizes, err = command.ParseSizes(*sizes); err != nil {
		return o, err
	}
	return o, o.Validate()
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
	return command.Publish(stdout, opts.Out, report.Markdown())
}

// onPlane starts a control plane, runs measure on it, and stops it.
func onPlane(ctx context.Context, stderr io.Writer, report *Report, measure func(*testenv.Env) error) error {
	fmt.Fprintln(stderr, "driftbench: starting a control plane")
	env, version, err := command.StartPlane(ctx, testenv.API)
	if err != nil {
		return err
	}
	defer env.Stop()
	report.KubernetesVersion = version
	return measure(env)
}
