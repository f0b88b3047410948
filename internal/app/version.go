package app

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time with -ldflags "-X github.com/gitopsd/gitopsd/internal/app.version=...".
var (
	version = "dev"
	commit  = ""
)

// Version reports the build's version, commit and Go version.
func Version() (ver, rev, goVersion string) {
	rev = commit
	if rev == "" {
		rev = "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
		}
	}
	return version, rev, runtime.Version()
}

func runVersion(_ context.Context, _ []string, out, _ io.Writer) error {
	ver, rev, goVersion := Version()
	_, err := fmt.Fprintf(out, "gitopsd %s (commit %s, %s)\n", ver, rev, goVersion)
	return err
}
