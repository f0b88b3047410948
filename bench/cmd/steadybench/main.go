package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/command"
	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
)

func main() { command.Run("steadybench", Main) }

// Options are the command line, parsed.
type Options struct {
	// Sizes are the numbers of objects the daemon manages, one run each.
	Sizes []int
	// PerInstallation is the number of objects of one installation.
	PerInstallation int
	// Interval is the installations' interval; Window how long the daemon
	// is watched at rest, after Ready.
	Interval, Window time.Duration
	// SyncTimeout bounds the daemon's initial sync.
	SyncTimeout time.Duration
	// Gitopsd is the daemon binary; built from the module when empty.
	Gitopsd string
	// Out is the Markdown file whose "Steady-state benchmark" section the
	// report replaces, and whose apply benchmark section holds Flux's
	// figures; none when empty.
	Out string
	// ProfileDir, when set, receives the daemon's heap profile near its
	// peak resident set, per size (see profilePeaks).
	ProfileDir string
}

// Validate rejects options that cannot run.
func (o Options) Validate() error {
	if err := command.CheckSizes(o.Sizes); err != nil {
		return err
	}
	if o.PerInstallation < objects.NamespaceShare {
		return fmt.Errorf("-per-installation %d: need at least %d", o.PerInstallation, objects.NamespaceShare)
	}
	if o.Interval <= 0 {
		return fmt.Errorf("-interval %s: need a positive interval", o.Interval)
	}
	if o.Window < o.Interval {
		return fmt.Errorf("-window %s: shorter than -interval %s, it may hold no periodic reconcile", o.Window, o.Interval)
	}
	if o.SyncTimeout <= 0 {
		return fmt.Errorf("-sync-timeout %s: need a positive timeout", o.SyncTimeout)
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("steadybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "5000,10000", "comma-separated numbers of objects the daemon manages, one run (and control plane) each")
	var o Options
	fs.IntVar(&o.PerInstallation, "per-installation", 1000, "objects per installation in the daemon's repository")
	fs.DurationVar(&o.Interval, "interval", 30*time.Second, "every installation's interval in gitopsd.yaml")
	fs.DurationVar(&o.Window, "window", 3*time.Minute, "how long to count the daemon's requests after it is Ready")
	fs.DurationVar(&o.SyncTimeout, "sync-timeout", 20*time.Minute, "how long the daemon may take to make every installation Ready")
	fs.StringVar(&o.Gitopsd, "gitopsd", "", "gitopsd binary to run; default: built from the module")
	fs.StringVar(&o.ProfileDir, "profile", "", "directory to save the daemon's heap profile near its peak in, per size (the daemon serves pprof; its figures are then not the benchmark's)")
	fs.StringVar(&o.Out, "out", "RESULTS.md", "Markdown file to write the report to, and to read Flux's figures from; empty for none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.Sizes, err = command.ParseSizes(*sizes); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// Main runs the daemon at each size opts asks for, on a control plane of
// its own beside an idle one, and prints the report to stdout and to the
// -out file; progress goes to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	report := &Report{Machine: results.ThisMachine(), PerInstallation: opts.PerInstallation}
	if opts.Out != "" {
		if report.Flux, err = ReadFluxIntervals(opts.Out); err != nil {
			return err
		}
	}
	workDir, err := os.MkdirTemp("", "steadybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)
	bin := opts.Gitopsd
	report.Build = "the binary given with -gitopsd"
	if bin == "" {
		fmt.Fprintln(stderr, "steadybench: building gitopsd")
		var commit string
		if bin, commit, err = command.BuildGitopsd(ctx, workDir); err != nil {
			return err
		}
		report.Build = "built from this repository at " + commit
	}
	for _, n := range opts.Sizes {
		err := onPlanes(ctx, stderr, report, func(env, idle *testenv.Env) error {
			res, err := Measure(ctx, env, idle, Run{
				Binary: bin, Dir: workDir, Objects: n, PerInstallation: opts.PerInstallation,
				Interval: opts.Interval, Window: opts.Window, SyncTimeout: opts.SyncTimeout,
				ProfileDir: opts.ProfileDir,
			}, stderr)
			if err != nil {
				return err
			}
			report.Results = append(report.Results, res)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%d objects: %w", n, err)
		}
	}

	report.LoadAfter = results.LoadAverage()
	return command.Publish(stdout, opts.Out, report.Markdown())
}

// onPlanes starts two control planes, one for the daemon and one that
// stays idle, runs measure on them, and stops them.
func onPlanes(ctx context.Context, stderr io.Writer, report *Report, measure func(env, idle *testenv.Env) error) error {
	fmt.Fprintln(stderr, "steadybench: starting a control plane for the daemon and an idle one")
	var envs [2]*testenv.Env
	for i := range envs {
		env, version, err := command.StartPlane(ctx, testenv.API)
		if err != nil {
			return err
		}
		defer env.Stop()
		envs[i] = env
		report.KubernetesVersion = version
	}
	return measure(envs[0], envs[1])
}
