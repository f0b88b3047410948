package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteTarball writes img, tagged tag (e.g. ghcr.io/gitopsd/gitopsd:v1.2.0),
// to path in the tarball format of docker save, which docker load, kind
// load image-archive and crane push read. The file appears whole or not
// at all.
func WriteTarball(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err == nil && !strings.Contains(tag[strings.LastIndex(tag, "/")+1:], ":") {
		// Without a tag, the image would load as :latest, which the kubelet
		// always tries to pull.
		err = errors.New("no tag")
	}
	if err != nil {
		return fmt.Errorf("image tag %q (want REPOSITORY:TAG): %w", tag, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write image %s to %s: %w", tag, path, err)
	}
	return os.Rename(tmp, path)
}

// WriteRootFS writes the image's files with bin as the binary under dir,
// for a Dockerfile to copy into an empty image. Owners are set only when
// running as root, as in a Docker build stage.
func WriteRootFS(dir string, bin []byte) error {
	for _, f := range append(baseFiles(), binaryFiles(bin)...) {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		var err error
		if f.mode.IsDir() {
			err = os.MkdirAll(p, f.mode.Perm())
		} else {
			err = os.WriteFile(p, f.data, f.mode.Perm())
		}
		if err == nil {
			// Chmod sets what the umask took and the sticky bit of /tmp.
			err = os.Chmod(p, f.mode&(fs.ModePerm|fs.ModeSticky))
		}
		if err == nil && os.Geteuid() == 0 {
			err = os.Lchown(p, f.uid, f.gid)
		}
		if err != nil {
			return fmt.Errorf("root file system %s: %w", f.path, err)
		}
	}
	return nil
}
