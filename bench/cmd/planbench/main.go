package main

import (
	"context"
	"errors"
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

func main() { command.Run("planbench", Main) }

// Options are the command line, parsed.
type Options struct {
	// Installations is the fleet's size; one of them changes.
	Installations int
	// Objects is the number of objects of each installation.
	Objects int
	// Pushes is the number of pushes to the pull request that are timed.
	Pushes int
	// Pause is the time between a status and the next push.
	Pause time.Duration
	// Gitopsd is the daemon binary; built from the module when empty.
	Gitopsd string
	// Out is the Markdown file whose "Plan-check benchmark" section the
	// report replaces; none when empty.
	Out string
}

// Validate rejects options that cannot run.
func (o Options) Validate() error {
	switch {
	case o.Installations < 1:
		return fmt.Errorf("-installations %d: need at least one", o.Installations)
	case o.Objects < objects.NamespaceShare:
		return fmt.Errorf("-objects %d: need at least %d", o.Objects, objects.NamespaceShare)
	case o.Pushes < 1:
		return errors.New("-pushes: need at least one")
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("planbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.IntVar(&o.Installations, "installations", 5, "installations in the fleet")
	fs.IntVar(&o.Objects, "objects", 100, "objects per installation")
	fs.IntVar(&o.Pushes, "pushes", 20, "pushes to the pull request, each timed from webhook to status")
	fs.DurationVar(&o.Pause, "pause", 3*time.Second, "time between a status and the next push (GitHub's write spacing refills meanwhile)")
	fs.StringVar(&o.Gitopsd, "gitopsd", "", "gitopsd binary to run; default: built from the module")
	fs.StringVar(&o.Out, "out", "RESULTS.md", "Markdown file to write the report to; empty for none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// Main runs the measurement on a control plane of its own and prints the
// report to stdout and to the -out file; progress goes to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	workDir, err := os.MkdirTemp("", "planbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)
	report := &Report{Machine: results.ThisMachine(), Options: opts}

	bin := opts.Gitopsd
	if bin == "" {
		fmt.Fprintln(stderr, "planbench: building gitopsd")
		if bin, _, err = command.BuildGitopsd(ctx, workDir); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "planbench: starting a control plane")
	env, version, err := command.StartPlane(ctx, testenv.API)
	if err != nil {
		return err
	}
	defer env.Stop()
	report.Machine.KubernetesVersion = version

	b, err := newBench(ctx, env, bin, workDir, opts, stderr)
	if err != nil {
		return err
	}
	defer b.stop()
	if report.Pushes, err = b.measurePushes(ctx); err != nil {
		return err
	}
	if report.Flux, err = b.measureFlux(ctx); err != nil {
		return err
	}
	report.Machine.LoadAfter = results.LoadAverage()
	return command.Publish(stdout, opts.Out, report.Markdown())
}
