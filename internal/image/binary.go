package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// versionVar is where gitopsd keeps the version it prints; commitVar the commit.
const (
	versionVar = "github.com/gitopsd/gitopsd/internal/app.version"
	commitVar  = "github.com/gitopsd/gitopsd/internal/app.commit"
)

// BuildTags are the build tags of every gitopsd binary (make build, the
// image, the benchmarks' daemon). kustomize_disable_go_plugin_support
// leaves out kustomize's loader of Go plugins, which gitopsd never loads:
// a binary that links package plugin exports every symbol for plugins to
// find, and maps some 20 MiB more, most of it resident once the packages
// have initialised.
const BuildTags = "kustomize_disable_go_plugin_support"

// BuildArgs are the go build arguments of the image's binary: static (the
// image has no libc), without build paths, with the time zone database
// inside (the image has no /usr/share/zoneinfo; sync windows name zones),
// stripped of the symbol table and DWARF (stack traces keep their names).
func BuildArgs(opts Options, out string) []string {
	ldflags := fmt.Sprintf("-s -w -X %s=%s -X %s=%s", versionVar, opts.Version, commitVar, opts.Commit)
	return []string{"build", "-trimpath", "-tags", "timetzdata," + BuildTags, "-ldflags", ldflags, "-o", out, "./cmd/gitopsd"}
}

// BuildBinary compiles gitopsd for linux/opts.Arch into out.
func BuildBinary(ctx context.Context, opts Options, out string) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", BuildArgs(opts, out)...)
	cmd.Dir = opts.Module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+opts.Arch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build gitopsd for linux/%s: %w\n%s", opts.Arch, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
