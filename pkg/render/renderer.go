package render

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/konfig"
)

// Options change what a render may reach beyond the commit's files.
type Options struct {
	// AllowRemote lets kustomizations refer to remote bases and resources
	// (Git and HTTP URLs), fetched at render time. The tree is then
	// written to a temporary directory for kustomize.
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
	results *fifoCache[string, *commitResults]
	trees   *fifoCache[string, *tree]
}

type result struct {
	set *ObjectSet
	err error
}

// commitResults are one commit's renders, by path.
type commitResults struct {
	mu    sync.Mutex
	paths map[string]result
}

// NewRenderer returns a Renderer with opts.
func NewRenderer(opts Options) *Renderer {
	if opts.Commits <= 0 {
		opts.Commits = DefaultOptions().Commits
	}
	return &Renderer{
		opts:    opts,
		results: newFIFOCache[string, *commitResults](opts.Commits),
		trees:   newFIFOCache[string, *tree](opts.Commits),
	}
}

// Render renders the directory dir (slash-separated, relative to the root of
// repo) of the repository at commit. Results are cached when commit is not
// empty, and so are failures caused by the commit's content (*Error) when
// nothing is fetched at render time; the returned set is shared and must
// not be modified.
func (r *Renderer) Render(ctx context.Context, repo fs.FS, commit, dir string) (*ObjectSet, error) {
	dir = path.Clean(dir)
	if dir == ".." || strings.HasPrefix(dir, "../") || path.IsAbs(dir) {
		return nil, &Error{Path: dir, Err: errors.New("path is outside the repository")}
	}
	if commit == "" {
		return r.render(ctx, repo, commit, dir)
	}
	cached := r.commit(commit)
	cached.mu.Lock()
	res, ok := cached.paths[dir]
	cached.mu.Unlock()
	if ok {
		return res.set, res.err
	}
	set, err := r.render(ctx, repo, commit, dir)
	if err == nil || IsRenderError(err) && !r.opts.AllowRemote && !r.opts.AllowHelm {
		cached.mu.Lock()
		cached.paths[dir] = result{set, err}
		cached.mu.Unlock()
	}
	return set, err
}

func (r *Renderer) render(ctx context.Context, repo fs.FS, commit, dir string) (*ObjectSet, error) {
	info, err := fs.Stat(repo, dir)
	if err != nil {
		return nil, &Error{Path: dir, Err: errors.New("directory does not exist")}
	}
	if !info.IsDir() {
		return nil, &Error{Path: dir, Err: errors.New("not a directory")}
	}
	if !hasKustomization(repo, dir) {
		objs, err := renderPlain(repo, dir)
		if err != nil {
			return nil, err
		}
		return NewObjectSet(objs)
	}
	t, err := r.tree(repo, commit)
	if err != nil {
		return nil, err
	}
	objs, err := kustomize(ctx, t, path.Join("/", dir), r.opts)
	if err != nil {
		return nil, err
	}
	return NewObjectSet(objs)
}

// commit returns the cache of one commit's renders, making it the newest.
func (r *Renderer) commit(commit string) *commitResults {
	return r.results.getOrPut(commit, func() *commitResults { return &commitResults{paths: map[string]result{}} })
}

// hasKustomization reports whether dir holds a kustomization file; only
// then is the repository copied into memory for kustomize.
func hasKustomization(repo fs.FS, dir string) bool {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, err := fs.Stat(repo, path.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// tree returns the in-memory copy of repo, shared by the renders of one commit.
func (r *Renderer) tree(repo fs.FS, commit string) (*tree, error) {
	if commit != "" {
		if t, ok := r.trees.get(commit); ok {
			return t, nil
		}
	}
	t, err := loadTree(repo)
	if err != nil {
		return nil, err
	}
	if commit != "" {
		r.trees.put(commit, t)
	}
	return t, nil
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

func (c *fifoCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.items[k]
	return v, ok
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

func (c *fifoCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
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
