package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Snapshot is one commit of the followed repository, with its files. It is
// a value: a consumer may keep it as long as it likes, and a later poll does
// not change it.
type Snapshot struct {
	URL     string    // the repository URL as configured (credentials never included)
	Ref     string    // the ref as configured: branch, tag, or commit SHA
	Commit  string    // full commit SHA
	Time    time.Time // commit time
	Author  string
	Message string
	Files   fs.FS // read-only file tree at Commit
}

// DirSnapshot wraps a local directory, used as it is (uncommitted changes
// included), for rendering without a repository: `gitopsd render --dir`.
// Commit and Time are empty. Files is an fs.ReadLinkFS, so symlinks are
// seen the same way as in a Git snapshot; unlike a Git snapshot, opening a
// symlink that leaves the directory follows it, so consumers that care must
// resolve links with ReadLink/Lstat themselves. A link with an absolute
// target inside the directory reads as the equivalent relative link.
func DirSnapshot(dir string) (Snapshot, error) {
	abs, err := realDir(dir)
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of directory %s: %w", dir, err)
	}
	return Snapshot{URL: abs, Files: newDirFS(abs)}, nil
}

// WorkTreeSnapshot returns the files `kustomize build dir` can reach: the Git
// work tree holding dir (uncommitted changes included) or, when dir is in
// none, the whole file system; and dir's slash-separated path in it. A
// kustomization in dir can so refer to bases in its parent directories
// (../base) as it does with kustomize.
func WorkTreeSnapshot(dir string) (Snapshot, string, error) {
	abs, err := realDir(dir)
	if err != nil {
		return Snapshot{}, "", fmt.Errorf("snapshot of directory %s: %w", dir, err)
	}
	root := workTree(abs)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return Snapshot{}, "", fmt.Errorf("snapshot of directory %s: %w", dir, err)
	}
	return Snapshot{URL: root, Files: newDirFS(root)}, filepath.ToSlash(rel), nil
}

// realDir returns dir as an absolute path without symlinks, so that its
// parents are the ones on disk.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return "", errors.New("not a directory")
	}
	return abs, nil
}

// workTree returns the top of the Git work tree holding dir (the nearest
// directory with a .git entry, a directory or, for linked work trees and
// submodules, a file), or the file system root when there is none.
func workTree(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return d
		}
	}
}

// dirFS is os.DirFS with ReadLink and Lstat, whose ReadLink turns an
// absolute target inside the directory into the relative one that reaches
// the same file, so that a consumer resolving links inside the tree sees
// them land where they land on disk.
type dirFS struct {
	fs.FS
	root string
}

var (
	_ fs.ReadLinkFS = dirFS{}
	_ fs.ReadDirFS  = dirFS{}
	_ fs.ReadFileFS = dirFS{}
	_ fs.StatFS     = dirFS{}
)

func newDirFS(root string) dirFS { return dirFS{FS: os.DirFS(root), root: root} }

func (d dirFS) ReadFile(name string) ([]byte, error)       { return fs.ReadFile(d.FS, name) }
func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(d.FS, name) }
func (d dirFS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(d.FS, name) }
func (d dirFS) Lstat(name string) (fs.FileInfo, error)     { return fs.Lstat(d.FS, name) }

func (d dirFS) ReadLink(name string) (string, error) {
	target, err := fs.ReadLink(d.FS, name)
	if err != nil || !filepath.IsAbs(target) {
		return target, err
	}
	inside, err := filepath.Rel(d.root, filepath.Clean(target))
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) {
		return target, nil
	}
	// The link sits in the directory of name; reach the root from there.
	up := strings.Repeat("../", strings.Count(name, "/"))
	return up + filepath.ToSlash(inside), nil
}
