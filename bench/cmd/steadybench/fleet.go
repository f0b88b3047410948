package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
)

// Fleet is a Git repository on disk that holds a fleet of installations.
type Fleet struct {
	Dir string
	// Commit is HEAD of branch main.
	Commit string
	// Installations lists the installations' names.
	Installations []string
	// Kinds is the largest number of kinds of object one installation
	// holds.
	Kinds int
}

// WriteFleet writes n objects into a new Git repository at dir: a
// gitopsd.yaml listing one installation per perInstallation objects (or
// fewer, evenly split), each a directory of plain YAML under apps/ to be
// reconciled every interval, all in one commit on branch main.
func WriteFleet(ctx context.Context, dir string, n, perInstallation int, interval time.Duration) (*Fleet, error) {
	f := &Fleet{Dir: dir}
	var config strings.Builder
	config.WriteString("# Written by steadybench.\ninstallations:\n")
	for i, size := range split(n, perInstallation) {
		name := fmt.Sprintf("fleet-%02d", i)
		rel := path.Join("apps", name)
		set := objects.Generate(name, size)
		if err := set.WriteDir(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return nil, err
		}
		f.Kinds = max(f.Kinds, len(set.KindCounts()))
		fmt.Fprintf(&config, "  - name: %s\n    path: %s\n    interval: %s\n", name, rel, interval)
		f.Installations = append(f.Installations, name)
	}
	if err := os.WriteFile(filepath.Join(dir, "gitopsd.yaml"), []byte(config.String()), 0o644); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=steadybench", "-c", "user.email=steadybench@example.invalid", "-c", "commit.gpgsign=false",
			"commit", "-q", "-m", fmt.Sprintf("fleet of %d objects in %d installations", n, len(f.Installations))},
	} {
		if _, err := git(ctx, dir, args...); err != nil {
			return nil, err
		}
	}
	head, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	f.Commit = head
	return f, nil
}

// split divides n into the fewest parts of at most per, as even as can be.
func split(n, per int) []int {
	parts := (n + per - 1) / per
	sizes := make([]int, parts)
	for i := range sizes {
		sizes[i] = n / parts
		if i < n%parts {
			sizes[i]++
		}
	}
	return sizes
}

// git runs the git CLI in dir and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[len(args)-1], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
