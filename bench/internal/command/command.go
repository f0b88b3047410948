package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/bench/internal/results"
	"github.com/gitopsd/gitopsd/internal/testenv"
)

// Run runs main with the process's arguments until it returns or a signal
// cancels it, and exits 1, naming the command, when it fails.
func Run(name string, main func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// ParseSizes parses the comma-separated numbers of objects of -n; blanks
// around and between them are ignored.
func ParseSizes(list string) ([]int, error) {
	var sizes []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("-n: %w", err)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// CheckSizes rejects no size at all, and sizes too small to fill the
// namespaces objects.Generate spreads objects over.
func CheckSizes(sizes []int) error {
	if len(sizes) == 0 {
		return errors.New("-n needs at least one size")
	}
	for _, n := range sizes {
		if n < objects.NamespaceShare {
			return fmt.Errorf("-n %d: a size needs at least %d objects", n, objects.NamespaceShare)
		}
	}
	return nil
}

// BuildGitopsd builds the daemon from the gitopsd module the bench module
// replaces, as `make build` does, into dir, and returns the binary and the
// commit it was built at (git describe).
func BuildGitopsd(ctx context.Context, dir string) (bin, commit string, err error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/gitopsd/gitopsd").Output()
	if err != nil {
		return "", "", fmt.Errorf("find the gitopsd module: %w", err)
	}
	module := strings.TrimSpace(string(out))
	bin = filepath.Join(dir, "gitopsd")
	// The tags of make build (internal/image.BuildTags).
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", bin, "./cmd/gitopsd")
	cmd.Dir = module
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build gitopsd: %w: %s", err, out)
	}
	describe := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	describe.Dir = module
	if out, err = describe.Output(); err != nil {
		return "", "", fmt.Errorf("git describe the gitopsd module: %w", err)
	}
	return bin, strings.TrimSpace(string(out)), nil
}

// StartPlane starts a control plane of size, allowing the time that size
// takes to come up, and returns it with its Kubernetes version. The caller
// stops it.
func StartPlane(ctx context.Context, size testenv.Size) (*testenv.Env, string, error) {
	timeout := 2 * time.Minute
	if size == testenv.Full {
		timeout = 3 * time.Minute // controllers and kwok nodes too
	}
	startCtx, cancel := context.WithTimeout(ctx, timeout)
	env, err := testenv.Start(startCtx, testenv.Options{Size: size})
	cancel()
	if err != nil {
		return nil, "", err
	}
	version, err := env.Client.Discovery().ServerVersion()
	if err != nil {
		env.Stop()
		return nil, "", fmt.Errorf("kubernetes version: %w", err)
	}
	return env, version.GitVersion, nil
}

// Publish prints the Markdown report md to stdout and, when out is not
// empty, replaces the report's section of the file out.
func Publish(stdout io.Writer, out, md string) error {
	fmt.Fprint(stdout, md)
	if out == "" {
		return nil
	}
	return results.WriteSection(out, md)
}
