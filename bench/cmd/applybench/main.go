package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/gitopsd/gitopsd/bench/internal/command"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"k8s.io/client-go/metadata"
)

func main() { command.Run("applybench", Main) }

// Options are the command line, parsed.
type Options struct {
	Sizes   []int
	Reps    int
	Engines []string
	// Out is the Markdown file whose "Apply-engine benchmark" section the
	// report replaces; none when empty.
	Out string
	// CPUProfile is a file to write a CPU profile of the whole run to.
	CPUProfile string
	// Concurrency overrides gitopsd's default when above zero.
	Concurrency int
}

var engineNames = []string{"gitopsd", "kubectl", "flux", "limit"}

// Validate rejects options that cannot run.
func (o Options) Validate() error {
	if err := command.CheckSizes(o.Sizes); err != nil {
		return err
	}
	if o.Reps < 1 {
		return fmt.Errorf("-reps %d: need at least 1", o.Reps)
	}
	for _, e := range o.Engines {
		if !slices.Contains(engineNames, e) {
			return fmt.Errorf("-engines: unknown engine %q; known: %s", e, strings.Join(engineNames, ", "))
		}
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("applybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "1000,5000", "comma-separated numbers of objects to apply")
	engines := fs.String("engines", strings.Join(engineNames, ","), "comma-separated engines to measure")
	var o Options
	fs.IntVar(&o.Reps, "reps", 3, "repetitions of each measurement; the report shows medians")
	fs.StringVar(&o.Out, "out", "RESULTS.md", "Markdown file to write the report to; empty for none")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of this process to `file`")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "gitopsd's apply concurrency; 0 for its default")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.Sizes, err = command.ParseSizes(*sizes); err != nil {
		return o, err
	}
	for _, e := range strings.Split(*engines, ",") {
		o.Engines = append(o.Engines, strings.TrimSpace(e))
	}
	return o, o.Validate()
}

// Main starts a control plane, measures the engines on it, and prints the
// report to stdout and to the -out file; progress goes to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if opts.CPUProfile != "" {
		f, err := os.Create(opts.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Fprintln(stderr, "applybench: starting the control plane")
	env, version, err := command.StartPlane(ctx, testenv.API)
	if err != nil {
		return err
	}
	defer env.Stop()
	live, err := metadata.NewForConfig(env.Config)
	if err != nil {
		return err
	}

	workDir, err := os.MkdirTemp("", "applybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workDir)
	engines, closeEngines, err := newEngines(env, opts, workDir)
	if err != nil {
		return err
	}
	defer closeEngines()

	bench := &Bench{Engines: engines, Reps: opts.Reps, Live: live, Progress: stderr}
	fmt.Fprintln(stderr, "applybench: warming up")
	if err := bench.WarmUp(ctx); err != nil {
		return err
	}
	report := &Report{Machine: results.ThisMachine(), Reps: opts.Reps}
	report.KubernetesVersion = version
	for _, n := range opts.Sizes {
		res, err := bench.Run(ctx, n)
		if err != nil {
			return err
		}
		report.Results = append(report.Results, res...)
	}

	report.LoadAfter = results.LoadAverage()
	return command.Publish(stdout, opts.Out, report.Markdown())
}

// newEngines builds the engines opts names, in the order they take turns.
func newEngines(env *testenv.Env, opts Options, workDir string) ([]Engine, func(), error) {
	var (
		engines []Engine
		proxy   *CountingProxy
	)
	closeAll := func() {
		if proxy != nil {
			proxy.Close()
		}
	}
	for _, name := range engineNames {
		if !slices.Contains(opts.Engines, name) {
			continue
		}
		var (
			e   Engine
			err error
		)
		switch name {
		case "gitopsd":
			e, err = NewGitopsd(env.Config, opts.Concurrency)
		case "kubectl":
			if proxy, err = StartProxy(env.Config); err == nil {
				e, err = NewKubectl(filepath.Join(testenv.BinDir(), "kubectl"), proxy, filepath.Join(workDir, "kubectl"))
			}
		case "flux":
			e, err = NewFlux(env.Config)
		case "limit":
			e, err = NewLimit(env.Config)
		}
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		engines = append(engines, e)
	}
	return engines, closeAll, nil
}
