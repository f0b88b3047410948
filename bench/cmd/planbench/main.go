package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
		fmt.Fprintln(os.Stderr, "planbench:", err)
		os.Exit(1)
	}
}

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
		if bin, err = buildGitopsd(ctx, workDir); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "planbench: starting a control plane")
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	env, err := testenv.Start(startCtx, testenv.Options{Size: testenv.API})
	cancel()
	if err != nil {
		return err
	}
	defer env.Stop()
	version, err := env.Client.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	report.Machine.KubernetesVersion = version.GitVersion

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
	md := report.Markdown()
	fmt.Fprint(stdout, md)
	if opts.Out != "" {
		return results.WriteSection(opts.Out, md)
	}
	return nil
}

// buildGitopsd builds the daemon from the gitopsd module this module
// replaces, as `make build` does, into dir.
func buildGitopsd(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/gitopsd/gitopsd").Output()
	if err != nil {
		return "", fmt.Errorf("find the gitopsd module: %w", err)
	}
	bin := filepath.Join(dir, "gitopsd")
	// The tags of make build (internal/image.BuildTags).
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", bin, "./cmd/gitopsd")
	cmd.Dir = strings.TrimSpace(string(out))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build gitopsd: %w: %s", err, out)
	}
	return bin, nil
}
