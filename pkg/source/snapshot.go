package source

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// Commit and Time are empty. Files is os.DirFS, which is also an fs.ReadLinkFS, so
// symlinks are seen the same way as in a Git snapshot; unlike a Git
// snapshot, os.DirFS follows a symlink that leaves the directory, so
// consumers that care must check with ReadLink/Lstat themselves.
func DirSnapshot(dir string) (Snapshot, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of directory %s: %w", dir, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of directory %s: %w", dir, err)
	}
	if !info.IsDir() {
		return Snapshot{}, fmt.Errorf("snapshot of directory %s: not a directory", dir)
	}
	return Snapshot{
		URL:   abs,
		Files: os.DirFS(abs),
	}, nil
}
