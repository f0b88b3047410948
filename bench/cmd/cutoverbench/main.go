package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gitopsd/gitopsd/bench/internal/command"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
)

func main() { command.Run("cutoverbench", Main) }

// Options are the command line, parsed.
type Options struct {
	// Rounds is the number of cutovers, each followed by a rollback.
	Rounds int
	// Replicas is the size of each colour.
	Replicas int
	// Services is the number of Services that follow the live colour.
	Services int
	// Out is the Markdown file whose "Cutover benchmark" section the
	// report replaces; none when empty.
	Out string
}

// Validate rejects options that cannot run.
func (o Options) Validate() error {
	switch {
	case o.Rounds < 1:
		return errors.New("-rounds: need at least one")
	case o.Replicas < 1:
		return errors.New("-replicas: need at least one")
	case o.Services < 1:
		return errors.New("-services: need at least one")
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("cutoverbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.IntVar(&o.Rounds, "rounds", 10, "cutovers, each followed by a rollback")
	fs.IntVar(&o.Replicas, "replicas", 3, "replicas of each colour")
	fs.IntVar(&o.Services, "services", 3, "Services that follow the live colour")
	fs.StringVar(&o.Out, "out", "RESULTS.md", "Markdown file to write the report to; empty for none")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// Main runs the measurement on a control plane of its own (with the
// controllers and kwok's nodes, so that colours really become available)
// and prints the report to stdout and to the -out file; progress goes to
// stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	workDir, err := os.MkdirTemp("", "cutoverbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)
	report := &Report{Machine: results.ThisMachine(), Options: opts}

	fmt.Fprintln(stderr, "cutoverbench: starting a control plane with controllers and kwok nodes")
	env, version, err := command.StartPlane(ctx, testenv.Full)
	if err != nil {
		return err
	}
	defer env.Stop()
	report.Machine.KubernetesVersion = version

	b, err := newBench(ctx, env, workDir, opts, stderr)
	if err != nil {
		return err
	}
	defer b.stop()
	if report.Rounds, err = b.measure(ctx); err != nil {
		return err
	}
	report.Machine.LoadAfter = results.LoadAverage()
	return command.Publish(stdout, opts.Out, report.Markdown())
}
