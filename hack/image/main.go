// Command image builds gitopsd's container image without a Docker engine
// (`make image`), or writes the same files to a directory for the
// Dockerfile (-rootfs). See internal/image.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/gitopsd/gitopsd/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	opts := image.DefaultOptions()
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&opts.Version, "version", opts.Version, "version stamped into the binary and the labels")
	fs.StringVar(&opts.Commit, "commit", opts.Commit, "commit stamped into the binary and the labels")
	fs.StringVar(&opts.Arch, "arch", opts.Arch, "GOARCH of the image (the OS is linux)")
	created := fs.Int64("created", opts.Created.Unix(), "creation time in Unix seconds (e.g. the commit's, for reproducible images)")
	tag := fs.String("tag", "ghcr.io/gitopsd/gitopsd:dev", "image reference written into the tarball")
	out := fs.String("out", "bin/gitopsd-image.tar", "tarball to write")
	rootfs := fs.String("rootfs", "", "write the image's files under this directory instead of a tarball")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts.Created = time.Unix(*created, 0).UTC()
	start := time.Now()
	if *rootfs != "" {
		return writeRootFS(ctx, opts, *rootfs)
	}
	img, err := image.Build(ctx, opts)
	if err != nil {
		return err
	}
	if err := image.WriteTarball(*out, *tag, img); err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s (%s, %.1f MiB) in %s\n", *out, *tag, digest, float64(info.Size())/(1<<20), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func writeRootFS(ctx context.Context, opts image.Options, dir string) error {
	out := filepath.Join(dir, ".gitopsd-build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := image.BuildBinary(ctx, opts, out); err != nil {
		return err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	if err := os.Remove(out); err != nil {
		return err
	}
	return image.WriteRootFS(dir, bin)
}
