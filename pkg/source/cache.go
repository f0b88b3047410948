package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// snapshotCacheSize bounds the decoded-object cache of each snapshot's file
// system; the poller's own storage uses go-git's default.
const snapshotCacheSize = 8 * cache.MiByte

// repoCache is the bare repository that holds what was fetched from one URL.
// Objects are only ever added (no gc, no repack), so a snapshot taken
// earlier stays readable while later fetches write new packs beside it.
type repoCache struct {
	dir string
	log *slog.Logger
	st  *filesystem.Storage // nil until open
}

// corruptError marks a failure to read the cache itself, as opposed to the
// remote: the cure is to remove the cache and fetch again.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return "cache: " + e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

func corrupt(format string, args ...any) error {
	return &corruptError{err: fmt.Errorf(format, args...)}
}

// cacheError is a failure to create or lock the cache (a full disk, a
// read-only directory): removing it would not help, an operator must.
type cacheError struct{ err error }

func (e *cacheError) Error() string { return "cache: " + e.err.Error() }
func (e *cacheError) Unwrap() error { return e.err }

func cacheFailure(format string, args ...any) error {
	return &cacheError{err: fmt.Errorf(format, args...)}
}

func newStorage(dir string, c cache.Object) *filesystem.Storage {
	return filesystem.NewStorage(osfs.New(dir), c)
}

// lock serialises writers of this cache across Pollers and processes.
func (c *repoCache) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o750); err != nil {
		return nil, cacheFailure("create directory: %w", err)
	}
	unlock, err := lockFile(ctx, c.dir+".lock")
	if err != nil {
		return nil, cacheFailure("%w", err)
	}
	return unlock, nil
}

// open opens the repository, creating it when missing and re-creating it
// when it cannot be opened.
func (c *repoCache) open() error {
	if c.st != nil {
		return nil
	}
	if _, err := os.Stat(c.dir); errors.Is(err, os.ErrNotExist) {
		return c.init()
	}
	st := newStorage(c.dir, cache.NewObjectLRUDefault())
	if _, err := git.Open(st, nil); err != nil {
		return c.reset(err)
	}
	c.st = st
	return nil
}

func (c *repoCache) init() error {
	if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return cacheFailure("create repository: %w", err)
	}
	st := newStorage(c.dir, cache.NewObjectLRUDefault())
	if _, err := git.Init(st, nil); err != nil {
		return cacheFailure("create repository %s: %w", c.dir, err)
	}
	c.st = st
	return nil
}

// reset removes a broken cache and starts an empty one; the next fetch
// fills it again. Snapshots still reading the old one fail from then on.
func (c *repoCache) reset(cause error) error {
	c.log.Warn("source cache is corrupt, re-creating it", logkey.CacheDir, c.dir, logkey.Error, cause)
	c.st = nil
	if err := os.RemoveAll(c.dir); err != nil {
		return cacheFailure("remove corrupt repository: %w", err)
	}
	return c.init()
}

// peel follows tag objects from h to the commit they name. found is false
// when the object is not in the cache at all.
func (c *repoCache) peel(h plumbing.Hash) (commit plumbing.Hash, found bool, err error) {
	for range 10 {
		obj, err := c.st.EncodedObject(plumbing.AnyObject, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, false, nil
		}
		if err != nil {
			return plumbing.ZeroHash, false, corrupt("read object %s: %w", h, err)
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return h, true, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(c.st, obj)
			if err != nil {
				return plumbing.ZeroHash, false, corrupt("read tag %s: %w", h, err)
			}
			h = tag.Target
		default:
			return plumbing.ZeroHash, true, fmt.Errorf("object %s is a %s, not a commit", h, obj.Type())
		}
	}
	return plumbing.ZeroHash, true, fmt.Errorf("object %s: tags nested too deep", h)
}

// holds reports whether the commit h names (peeling tags) and its root tree
// are in the cache: then nothing needs fetching.
func (c *repoCache) holds(h plumbing.Hash) (plumbing.Hash, bool, error) {
	commit, found, err := c.peel(h)
	if err != nil || !found {
		return plumbing.ZeroHash, false, err
	}
	co, err := object.GetCommit(c.st, commit)
	if err != nil {
		return plumbing.ZeroHash, false, corrupt("read commit %s: %w", commit, err)
	}
	_, err = c.st.EncodedObject(plumbing.TreeObject, co.TreeHash)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, corrupt("read tree %s: %w", co.TreeHash, err)
	}
	return commit, true, nil
}

// setRef records what a ref points at, so later fetches can tell the
// server which objects we have.
func (c *repoCache) setRef(name plumbing.ReferenceName, h plumbing.Hash) error {
	if err := c.st.SetReference(plumbing.NewHashReference(name, h)); err != nil {
		return corrupt("set %s: %w", name, err)
	}
	return nil
}

func (c *repoCache) ref(name plumbing.ReferenceName) (plumbing.Hash, error) {
	r, err := c.st.Reference(name)
	if err != nil {
		return plumbing.ZeroHash, corrupt("read %s after fetch: %w", name, err)
	}
	return r.Hash(), nil
}

// snapshot builds the Snapshot of a commit held in the cache. Its Files get
// a storage instance of their own: go-git storage is not safe to share with
// the poller's next fetch.
func (c *repoCache) snapshot(commit plumbing.Hash, url, ref string) (Snapshot, error) {
	co, err := object.GetCommit(c.st, commit)
	if err != nil {
		return Snapshot{}, corrupt("read commit %s: %w", commit, err)
	}
	files := newTreeFS(newStorage(c.dir, cache.NewObjectLRU(snapshotCacheSize)), co.TreeHash, co.Committer.When)
	if _, err := files.ReadDir("."); err != nil {
		return Snapshot{}, corrupt("read tree of commit %s: %w", commit, err)
	}
	return Snapshot{
		URL:     url,
		Ref:     ref,
		Commit:  commit.String(),
		Time:    co.Committer.When,
		Author:  fmt.Sprintf("%s <%s>", co.Author.Name, co.Author.Email),
		Message: strings.TrimRight(co.Message, "\n"),
		Files:   files,
	}, nil
}
