package source

import (
	"bytes"
	"io"
	"io/fs"
	"time"
)

type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.modTime }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) Sys() any           { return nil }

// dirEntry describes an entry without following it, as os.ReadDir does.
type dirEntry struct {
	fsys *treeFS
	node node
}

func (e *dirEntry) Name() string      { return e.node.name }
func (e *dirEntry) IsDir() bool       { return e.node.isDir() }
func (e *dirEntry) Type() fs.FileMode { return e.modeType() }

func (e *dirEntry) modeType() fs.FileMode {
	switch {
	case e.node.isDir():
		return fs.ModeDir
	case e.node.mode.IsFile():
		if e.node.isFile() {
			return 0
		}
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}

func (e *dirEntry) Info() (fs.FileInfo, error) {
	e.fsys.mu.Lock()
	defer e.fsys.mu.Unlock()
	return e.fsys.info(e.node)
}

func (e *dirEntry) String() string { return fs.FormatDirEntry(e) }

// openFile is a regular file, read whole at Open.
type openFile struct {
	info   *fileInfo
	data   []byte
	r      *bytes.Reader
	closed bool
}

var (
	_ io.Seeker   = (*openFile)(nil)
	_ io.ReaderAt = (*openFile)(nil)
)

func (f *openFile) reader() *bytes.Reader {
	if f.r == nil {
		f.r = bytes.NewReader(f.data)
	}
	return f.r
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *openFile) Read(p []byte) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.info.name, Err: fs.ErrClosed}
	}
	return f.reader().Read(p)
}

func (f *openFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.info.name, Err: fs.ErrClosed}
	}
	return f.reader().ReadAt(p, off)
}

func (f *openFile) Seek(offset int64, whence int) (int64, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "seek", Path: f.info.name, Err: fs.ErrClosed}
	}
	return f.reader().Seek(offset, whence)
}

func (f *openFile) Close() error {
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.info.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

// openDir is a directory; its entries are listed on the first ReadDir.
type openDir struct {
	fsys    *treeFS
	node    node
	info    *fileInfo
	path    string
	entries []fs.DirEntry
	listed  bool
	offset  int
	closed  bool
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errIsDir}
}

func (d *openDir) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.path, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir follows fs.ReadDirFile: n > 0 reads at most n entries and io.EOF
// at the end; n <= 0 reads all that are left.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.path, Err: fs.ErrClosed}
	}
	if !d.listed {
		d.fsys.mu.Lock()
		entries, err := d.fsys.dirEntries(d.node)
		d.fsys.mu.Unlock()
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: d.path, Err: err}
		}
		d.entries, d.listed = entries, true
	}
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.offset += n
	return rest[:n], nil
}
