package image

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// file is one entry of the image's file system.
type file struct {
	path     string      // absolute, slash-separated
	mode     fs.FileMode // fs.ModeDir marks a directory
	uid, gid int
	data     []byte
}

// baseFiles are everything but the binary: the CA bundle, the nonroot user
// (for tools that look names up, and a HOME it may write), and a /tmp that
// works without a volume.
func baseFiles() []file {
	dir := func(p string, mode fs.FileMode) file { return file{path: p, mode: fs.ModeDir | mode} }
	reg := func(p string, data []byte) file { return file{path: p, mode: 0o644, data: data} }
	home := dir(HomeDir, 0o700)
	home.uid, home.gid = UID, GID
	return []file{
		dir("/etc", 0o755),
		reg("/etc/group", fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", GID)),
		reg("/etc/passwd", fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", UID, GID, HomeDir)),
		dir("/etc/ssl", 0o755),
		dir("/etc/ssl/certs", 0o755),
		reg(CABundlePath, caBundle()),
		dir("/home", 0o755),
		home,
		dir("/tmp", fs.ModeSticky|0o777),
	}
}

// binaryFiles are the binary and the directories above it.
func binaryFiles(bin []byte) []file {
	return []file{
		{path: "/usr", mode: fs.ModeDir | 0o755},
		{path: "/usr/local", mode: fs.ModeDir | 0o755},
		{path: "/usr/local/bin", mode: fs.ModeDir | 0o755},
		{path: BinaryPath, mode: 0o755, data: bin},
	}
}

// caBundle is Mozilla's root store as PEM, from the Go module that embeds
// it: the same bytes on every build machine. Roots that NSS distrusts after
// a date are left out, since a PEM file cannot carry that constraint and
// trusting them unconditionally would trust what Mozilla no longer does.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}

// layerTar is files as a tar stream with every timestamp at created.
func layerTar(files []file, created time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(f.path, "/"),
			Mode:    tarMode(f.mode),
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if f.mode.IsDir() {
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// tarMode is the tar header mode of m: permission bits plus sticky.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
