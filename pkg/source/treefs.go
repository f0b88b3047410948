package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

var (
	// ErrSymlinkEscapes: a symlink's target lies outside the repository tree.
	// ReadLink and Lstat still show such a link; Open, Stat and ReadFile
	// refuse to follow it.
	ErrSymlinkEscapes = errors.New("symlink leaves the repository tree")
	// ErrSymlinkLoop: too many symlinks in a row, as with a loop.
	ErrSymlinkLoop = errors.New("too many levels of symbolic links")

	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)

// maxSymlinkHops matches Linux's limit for one path lookup.
const maxSymlinkHops = 40

// treeFS is a read-only file system over one git tree, read straight from
// the object store: nothing is checked out or written. Symlinks (mode
// 120000) are resolved inside the tree only, the way a kernel would resolve
// them if the tree were the root of the file system, except that a target
// reaching above the root is an error rather than clamped to it.
//
// go-git's object storage is not safe for concurrent use, so each treeFS has
// its own storage instance and serialises reads on it. Files are read whole
// on Open: repository files are small, and it keeps the lock short.
type treeFS struct {
	mu      sync.Mutex
	objects storer.EncodedObjectStorer
	root    plumbing.Hash
	modTime time.Time
}

var (
	_ fs.FS         = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
	_ fs.ReadLinkFS = (*treeFS)(nil)
)

func newTreeFS(objects storer.EncodedObjectStorer, root plumbing.Hash, modTime time.Time) *treeFS {
	return &treeFS{objects: objects, root: root, modTime: modTime}
}

// node is one tree entry: the root, a directory, a file, a symlink or a
// submodule (shown as an empty directory: its content is another repository).
type node struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (n node) isDir() bool { return n.mode == filemode.Dir || n.mode == filemode.Submodule }

func (n node) isFile() bool {
	return n.mode == filemode.Regular || n.mode == filemode.Executable || n.mode == filemode.Deprecated
}

// Open opens name, following symlinks inside the tree.
func (f *treeFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	info, err := f.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if n.isDir() {
		return &openDir{fsys: f, node: n, info: info, path: name}, nil
	}
	data, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &openFile{info: info, data: data}, nil
}

// ReadFile reads a whole file, following symlinks inside the tree.
func (f *treeFS) ReadFile(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.resolve("readfile", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errIsDir}
	}
	data, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir lists a directory sorted by name, following symlinks to it.
// Entries for symlinks have type fs.ModeSymlink.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	entries, err := f.dirEntries(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return entries, nil
}

// Stat describes name, following symlinks inside the tree.
func (f *treeFS) Stat(name string) (fs.FileInfo, error) {
	return f.stat("stat", name, true)
}

// Lstat describes name without following a final symlink, so a consumer can
// see a link, whatever it points at.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) {
	return f.stat("lstat", name, false)
}

// ReadLink returns a symlink's target as stored in git, unresolved.
func (f *treeFS) ReadLink(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := f.blob(n.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

func (f *treeFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.resolve(op, name, follow)
	if err != nil {
		return nil, err
	}
	info, err := f.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return info, nil
}

// resolve walks name from the root one element at a time. A symlink met on
// the way (or at the end, when follow is set) is replaced by its target,
// read relative to the directory holding it; ".." in a target steps back
// along the directories actually walked, as a kernel does.
func (f *treeFS) resolve(op, name string, follow bool) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	root := node{name: ".", mode: filemode.Dir, hash: f.root}
	walked := []node{root} // walked[len-1] is the current directory
	var pending []string
	if name != "." {
		pending = strings.Split(name, "/")
	}
	hops := 0
	lastLink := "" // the link whose target we are walking, to name it in errors
	for len(pending) > 0 {
		elem := pending[0]
		pending = pending[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			// Only a symlink target can bring us here: ValidPath refuses "..".
			if len(walked) == 1 {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%s: %w", lastLink, ErrSymlinkEscapes)}
			}
			walked = walked[:len(walked)-1]
			continue
		}
		dir := walked[len(walked)-1]
		child, err := f.lookup(dir, elem)
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if child.mode == filemode.Symlink && (len(pending) > 0 || follow) {
			hops++
			if hops > maxSymlinkHops {
				return node{}, &fs.PathError{Op: op, Path: name, Err: ErrSymlinkLoop}
			}
			target, err := f.blob(child.hash)
			if err != nil {
				return node{}, &fs.PathError{Op: op, Path: name, Err: err}
			}
			t := string(target)
			lastLink = fmt.Sprintf("%q -> %q", walkedPath(walked, elem), t)
			if t == "" {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%s: empty target: %w", lastLink, fs.ErrNotExist)}
			}
			if path.IsAbs(t) {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%s: %w", lastLink, ErrSymlinkEscapes)}
			}
			pending = append(strings.Split(t, "/"), pending...)
			continue
		}
		if len(pending) > 0 && child.mode != filemode.Dir {
			if child.mode == filemode.Submodule {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
			}
			return node{}, &fs.PathError{Op: op, Path: name, Err: errNotDir}
		}
		walked = append(walked, child)
	}
	return walked[len(walked)-1], nil
}

func walkedPath(walked []node, elem string) string {
	parts := make([]string, 0, len(walked))
	for _, n := range walked[1:] {
		parts = append(parts, n.name)
	}
	return path.Join(append(parts, elem)...)
}

func (f *treeFS) lookup(dir node, name string) (node, error) {
	if dir.mode == filemode.Submodule {
		return node{}, fs.ErrNotExist
	}
	t, err := object.GetTree(f.objects, dir.hash)
	if err != nil {
		return node{}, fmt.Errorf("read tree %s: %w", dir.hash, err)
	}
	for _, e := range t.Entries {
		if e.Name == name {
			return node{name: e.Name, mode: e.Mode, hash: e.Hash}, nil
		}
	}
	return node{}, fs.ErrNotExist
}

func (f *treeFS) blob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(f.objects, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return data, nil
}

func (f *treeFS) info(n node) (*fileInfo, error) {
	fi := &fileInfo{name: n.name, modTime: f.modTime}
	switch {
	case n.isDir():
		fi.mode = fs.ModeDir | 0o555
		return fi, nil
	case n.mode == filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
	case n.mode == filemode.Executable:
		fi.mode = 0o555
	case n.isFile():
		fi.mode = 0o444
	default:
		return nil, fmt.Errorf("unsupported git file mode %s", n.mode)
	}
	obj, err := f.objects.EncodedObject(plumbing.BlobObject, n.hash)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", n.hash, err)
	}
	fi.size = obj.Size()
	return fi, nil
}

func (f *treeFS) dirEntries(dir node) ([]fs.DirEntry, error) {
	if dir.mode == filemode.Submodule {
		return []fs.DirEntry{}, nil
	}
	t, err := object.GetTree(f.objects, dir.hash)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", dir.hash, err)
	}
	entries := make([]fs.DirEntry, 0, len(t.Entries))
	for _, e := range t.Entries {
		entries = append(entries, &dirEntry{fsys: f, node: node{name: e.Name, mode: e.Mode, hash: e.Hash}})
	}
	// Git sorts a directory as if its name ended in "/"; io/fs wants plain names.
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}
