package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Config is the image's run configuration: what `docker inspect` shows
// and what the Dockerfile declares too.
func Config(opts Options) v1.Config {
	return v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"run"},
		Env:        []string{"PATH=/usr/local/bin", "HOME=" + HomeDir},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "gitopsd",
			"org.opencontainers.image.version":  opts.Version,
			"org.opencontainers.image.revision": opts.Commit,
			"org.opencontainers.image.source":   opts.Source,
		},
	}
}

// Build compiles gitopsd and assembles its image.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "gitopsd-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "gitopsd")
	if err := BuildBinary(ctx, opts, out); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return New(bin, opts)
}

// New assembles the image around a built binary: one layer of base files,
// which seldom changes and so is shared between versions, and one holding
// the binary.
func New(bin []byte, opts Options) (v1.Image, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var adds []mutate.Addendum
	for _, l := range []struct {
		what  string
		files []file
	}{
		{"CA bundle, nonroot user, /tmp", baseFiles()},
		{"gitopsd " + opts.Version, binaryFiles(bin)},
	} {
		layer, err := newLayer(l.files, opts)
		if err != nil {
			return nil, fmt.Errorf("image layer %s: %w", l.what, err)
		}
		adds = append(adds, mutate.Addendum{Layer: layer, History: v1.History{
			Created: v1.Time{Time: opts.Created}, CreatedBy: "gitopsd image: " + l.what,
		}})
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", opts.Arch
	cf.Created = v1.Time{Time: opts.Created}
	cf.Config = Config(opts)
	return mutate.ConfigFile(img, cf)
}

func newLayer(files []file, opts Options) (v1.Layer, error) {
	data, err := layerTar(files, opts.Created)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}
