package render

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"sync"
)

// Options change what a render may reach beyond the commit's files.
type Options struct {
	// AllowRemote lets kustomizations refer to remote bases and files
	// (Git and HTTP URLs), fetched at render time. Without it, nothing of
	// a render comes from the network.
	AllowRemote bool
	// AllowHelm enables helmCharts, inflated with the helm binary.
	AllowHelm bool
	// Commits is the number of commits whose renders are kept: every
	// installation of the newest, and of the one before while workers
	// move on.
	Commits int
}

// DefaultOptions refuse remote resources and Helm charts and keep the
// renders of 2 commits.
func DefaultOptions() Options {
	return Options{Commits: 2}
}

// Renderer renders installations and caches the results by commit and path.
// It is safe for concurrent use.
type Renderer struct {
	opts    Options
	log     *slog.Logger
	results *fifoCache[string, *commitResults]
}

// result is a cached render: the set packed, or the error.
type result struct {
	set *PackedSet
	err error
}

// commitResults are one commit's renders, by path.
type commitResults struct {
	mu    sync.Mutex
	paths map[string]result
}

// NewRenderer returns a Renderer with opts that logs kustomize's warnings
// to log (nil discards them).
func NewRenderer(opts Options, log *slog.Logger) *Renderer {
	if opts.Commits <= 0 {
		opts.Commits = DefaultOptions().Commits
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Renderer{
		opts:    opts,
		log:     log,
		results: newFIFOCache[string, *commitResults](opts.Commits),
	}
}

// Render renders the directory dir (slash-separated, relative to the root of
// repo) of the repository at commit. Results are cached when commit is not
// empty, and so are failures caused by the commit's content (*Error); a
// failure to fetch remote content is not, so that the next render tries
// again. The cache keeps sets packed: each call returns a set decoded anew,
// which must not be modified (see ObjectSet.Pack).
func (r *Renderer) Render(ctx context.Context, repo fs.FS, commit, dir string) (*ObjectSet, error) {
	dir = path.Clean(dir)
	if dir == ".." || strings.HasPrefix(dir, "../") || path.IsAbs(dir) {
		return nil, &Error{Path: dir, Err: errors.New("path is outside the repository")}
	}
	if commit == "" {
		return r.render(ctx, repo, dir)
	}
	cached := r.commit(commit)
	cached.mu.Lock()
	res, ok := cached.paths[dir]
	cached.mu.Unlock()
	if !ok {
		set, err := r.render(ctx, repo, dir)
		if err != nil && !IsRenderError(err) {
			return nil, err
		}
		res.err = err
		if err == nil {
			if res.set, err = set.Pack(); err != nil {
				return nil, &Error{Path: dir, Err: err}
			}
		}
		cached.mu.Lock()
		cached.paths[dir] = res
		cached.mu.Unlock()
	}
	if res.err != nil {
		return nil, res.err
	}
	// A fresh render is decoded from its packed form too, so that every
	// render of a commit is the same down to the types of numbers.
	return res.set.Unpack()
}

func (r *Renderer) render(ctx context.Context, repo fs.FS, dir string) (*ObjectSet, error) {
	info, err := fs.Stat(repo, dir)
	if err != nil {
		return nil, &Error{Path: dir, Err: errors.New("directory does not exist")}
	}
	if !info.IsDir() {
		return nil, &Error{Path: dir, Err: errors.New("not a directory")}
	}
	file, ok := kustomizationFile(repo, dir)
	if !ok {
		objs, err := renderPlain(repo, dir)
		if err != nil {
			return nil, err
		}
		return NewObjectSet(objs)
	}
	objs, err := r.kustomize(ctx, repo, dir, file, false)
	if err != nil {
		return nil, err
	}
	set, err := NewObjectSet(objs)
	var dup *duplicateError
	if errors.As(err, &dup) {
		// kustomize's objects all come from the kustomization; build again
		// with origin annotations to name the two files.
		if objs, e := r.kustomize(ctx, repo, dir, file, true); e == nil {
			if _, e := NewObjectSet(objs); e != nil {
				return nil, e
			}
		}
	}
	return set, err
}

// commit returns the cache of one commit's renders, making it the newest.
func (r *Renderer) commit(commit string) *commitResults {
	return r.results.getOrPut(commit, func() *commitResults { return &commitResults{paths: map[string]result{}} })
}

// fifoCache keeps the last n values put; it is safe for concurrent use.
type fifoCache[K comparable, V any] struct {
	mu    sync.Mutex
	n     int
	order []K
	items map[K]V
}

func newFIFOCache[K comparable, V any](n int) *fifoCache[K, V] {
	return &fifoCache[K, V]{n: n, items: make(map[K]V, n)}
}

// getOrPut returns the value of k, putting make() first when there is none.
func (c *fifoCache[K, V]) getOrPut(k K, make func() V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.items[k]; ok {
		return v
	}
	v := make()
	c.putLocked(k, v)
	return v
}

func (c *fifoCache[K, V]) putLocked(k K, v V) {
	if _, ok := c.items[k]; !ok {
		c.order = append(c.order, k)
	}
	c.items[k] = v
	for len(c.order) > c.n {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}
