package image

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Paths and identity inside the image; the Dockerfile uses the same.
const (
	BinaryPath   = "/usr/local/bin/gitopsd"
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	HomeDir      = "/home/nonroot"
	// UID and GID are the nonroot user of distroless images, so that
	// policies written for those fit gitopsd too.
	UID = 65532
	GID = 65532
)

// Options say how the binary is built and what the image says about it.
type Options struct {
	// Module is the directory holding gitopsd's go.mod.
	Module string
	// Version and Commit are stamped into the binary (gitopsd version) and
	// into the OCI labels.
	Version, Commit string
	// Arch is the GOARCH of the binary and the image; the OS is linux.
	Arch string
	// Created dates the config and every file, so that one commit always
	// makes the same image digest.
	Created time.Time
	// Source is the repository URL in the org.opencontainers.image.source label.
	Source string
}

// DefaultOptions builds from the current directory for this machine's
// architecture, dated at the Unix epoch.
func DefaultOptions() Options {
	return Options{
		Module:  ".",
		Version: "dev",
		Arch:    runtime.GOARCH,
		Created: time.Unix(0, 0).UTC(),
		Source:  "https://github.com/gitopsd/gitopsd",
	}
}

// Validate reports the first option that cannot make an image.
func (o Options) Validate() error {
	switch {
	case o.Module == "":
		return errors.New("image options: Module is empty")
	case o.Version == "":
		return errors.New("image options: Version is empty")
	case o.Arch == "":
		return errors.New("image options: Arch is empty")
	case o.Created.IsZero():
		return errors.New("image options: Created is zero")
	}
	// Both go into -ldflags, which splits on spaces and quotes.
	for _, f := range []struct{ name, value string }{{"Version", o.Version}, {"Commit", o.Commit}} {
		if strings.ContainsAny(f.value, " \t\n'\"") {
			return fmt.Errorf("image options: %s %q holds a space or a quote", f.name, f.value)
		}
	}
	if !validArch[o.Arch] {
		return fmt.Errorf("image options: Arch %q is not a linux architecture gitopsd builds for", o.Arch)
	}
	return nil
}

var validArch = map[string]bool{"amd64": true, "arm64": true, "arm": true, "ppc64le": true, "s390x": true, "riscv64": true}
