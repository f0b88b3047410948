package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// errReadOnly is what a write into the repository gets.
var errReadOnly = errors.New("the repository is read-only")

// repoFS is the file system kustomize builds over: the repository at root
// (an absolute path that exists nowhere on disk), read from the snapshot
// when kustomize asks for a file, never copied. Symlinks resolve as on disk
// (filepath.EvalSymlinks), so kustomize's root-only rule sees where a link
// lands, but inside the repository only. Writes are refused, except in the
// directories the build itself made on disk (see build.onDisk).
type repoFS struct{ b *build }

var _ filesys.FileSystem = repoFS{}

// name returns the repository path of the absolute path p, or false when p
// is outside the repository.
func (f repoFS) name(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.b.root, p)
	}
	p = filepath.ToSlash(filepath.Clean(p))
	switch {
	case p == f.b.root:
		return ".", true
	case strings.HasPrefix(p, f.b.root+"/"):
		return p[len(f.b.root)+1:], true
	}
	return "", false
}

func (f repoFS) abs(name string) string { return path.Join(f.b.root, name) }

// lookup resolves the symlinks of p inside the repository and stats what it
// leads to. disk is set instead when p is in a directory the build made on
// disk.
func (f repoFS) lookup(p string) (name string, info fs.FileInfo, disk bool, err error) {
	if f.b.onDisk(p) {
		return "", nil, true, nil
	}
	name, ok := f.name(p)
	if !ok {
		return "", nil, false, &fs.PathError{Op: "open", Path: p, Err: errors.New("outside the repository")}
	}
	resolved, err := resolve(f.b.repo, name)
	if err != nil {
		return "", nil, false, f.pathError(name, err)
	}
	info, err = fs.Stat(f.b.repo, resolved)
	if err != nil {
		return "", nil, false, f.pathError(name, err)
	}
	return resolved, info, false, nil
}

// pathError names p in the repository, unless err already names a link.
func (f repoFS) pathError(name string, err error) error {
	var escape *escapeError
	if errors.As(err, &escape) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: "lstat", Path: f.abs(name), Err: err}
}

// CleanedAbs splits p into the directory and file it leads to once its
// symlinks are resolved, which is where kustomize checks that a file is in
// or below the kustomization root.
func (f repoFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	name, info, disk, err := f.lookup(p)
	if disk {
		return diskFS.CleanedAbs(p)
	}
	if err != nil {
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", p, err)
	}
	if isKustomizationName(path.Base(p)) && !info.IsDir() {
		f.b.lookedUp(name, p)
	}
	if info.IsDir() {
		return filesys.ConfirmedDir(f.abs(name)), "", nil
	}
	return filesys.ConfirmedDir(f.abs(path.Dir(name))), path.Base(name), nil
}

func (f repoFS) ReadFile(p string) ([]byte, error) {
	name, info, disk, err := f.lookup(p)
	if disk {
		return diskFS.ReadFile(p)
	}
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errors.New("is a directory")}
	}
	data, err := fs.ReadFile(f.b.repo, name)
	if err != nil {
		return nil, f.pathError(name, err)
	}
	return f.b.served(name, data)
}

func (f repoFS) Open(p string) (filesys.File, error) {
	name, _, disk, err := f.lookup(p)
	if disk {
		return diskFS.Open(p)
	}
	if err != nil {
		return nil, err
	}
	file, err := f.b.repo.Open(name)
	if err != nil {
		return nil, f.pathError(name, err)
	}
	return readOnlyFile{file}, nil
}

func (f repoFS) Exists(p string) bool {
	_, _, disk, err := f.lookup(p)
	if disk {
		return diskFS.Exists(p)
	}
	return err == nil
}

func (f repoFS) IsDir(p string) bool {
	_, info, disk, err := f.lookup(p)
	if disk {
		return diskFS.IsDir(p)
	}
	return err == nil && info.IsDir()
}

func (f repoFS) ReadDir(p string) ([]string, error) {
	name, _, disk, err := f.lookup(p)
	if disk {
		return diskFS.ReadDir(p)
	}
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(f.b.repo, name)
	if err != nil {
		return nil, f.pathError(name, err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Glob matches pattern as filepath.Glob does, leaving out hidden files
// unless the pattern names them, as kustomize's on-disk file system does.
func (f repoFS) Glob(pattern string) ([]string, error) {
	if f.b.onDisk(pattern) {
		return diskFS.Glob(pattern)
	}
	name, ok := f.name(pattern)
	if !ok {
		return nil, nil
	}
	matches, err := fs.Glob(f.b.repo, name)
	if err != nil {
		return nil, err
	}
	for i, m := range matches {
		matches[i] = f.abs(m)
	}
	if filesys.IsHiddenFilePath(pattern) {
		return matches, nil
	}
	return filesys.RemoveHiddenFiles(matches), nil
}

func (f repoFS) Walk(p string, walkFn filepath.WalkFunc) error {
	name, _, disk, err := f.lookup(p)
	if disk {
		return diskFS.Walk(p, walkFn)
	}
	if err != nil {
		return walkFn(p, nil, err)
	}
	return fs.WalkDir(f.b.repo, name, func(n string, d fs.DirEntry, err error) error {
		var info fs.FileInfo
		if err == nil {
			info, err = d.Info()
		}
		return walkFn(f.abs(n), info, err)
	})
}

// Writes go to disk in the directories the build made there (remote bases
// cloned by kustomize), and are refused in the repository.

func (f repoFS) Create(p string) (filesys.File, error) {
	if f.b.onDisk(p) {
		return diskFS.Create(p)
	}
	return nil, &fs.PathError{Op: "create", Path: p, Err: errReadOnly}
}

func (f repoFS) Mkdir(p string) error {
	if f.b.onDisk(p) {
		return diskFS.Mkdir(p)
	}
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

func (f repoFS) MkdirAll(p string) error {
	if f.b.onDisk(p) {
		return diskFS.MkdirAll(p)
	}
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

func (f repoFS) RemoveAll(p string) error {
	if f.b.onDisk(p) {
		return diskFS.RemoveAll(p)
	}
	return &fs.PathError{Op: "remove", Path: p, Err: errReadOnly}
}

func (f repoFS) WriteFile(p string, data []byte) error {
	if f.b.onDisk(p) {
		return diskFS.WriteFile(p, data)
	}
	return &fs.PathError{Op: "write", Path: p, Err: errReadOnly}
}

// diskFS serves the directories a build made on disk.
var diskFS = filesys.MakeFsOnDisk()

// readOnlyFile is a repository file opened by kustomize.
type readOnlyFile struct{ fs.File }

func (readOnlyFile) Write([]byte) (int, error) { return 0, errReadOnly }

// isKustomizationName reports whether name is one kustomize looks for in a
// kustomization directory.
func isKustomizationName(name string) bool {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if name == n {
			return true
		}
	}
	return false
}

// tempDir is where kustomize clones remote bases, without symlinks, as
// kustomize names it.
func tempDir() string {
	dir, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return os.TempDir()
	}
	return dir
}
