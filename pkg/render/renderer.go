package render

import (
	"context"
	"errors"
	"fmt"
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
	// CacheSize is the number of rendered (commit, path) results kept.
	CacheSize int
}

// DefaultOptions refuse remote resources and Helm charts and cache 256 renders.
func DefaultOptions() Options {
	return Options{CacheSize: 256}
}

// Renderer renders installations and caches the results by commit and path.
// It is safe for concurrent use.
type Renderer struct {
	opts    Options
	results *fifoCache[string, result]
	trees   *fifoCache[string, *tree]
}

type result struct {
	set *ObjectSet
	err error
}

// NewRenderer returns a Renderer with opts.
func NewRenderer(opts Options) *Renderer {
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultOptions().CacheSize
	}
	return &Renderer{
		opts:    opts,
		results: newFIFOCache[string, result](opts.CacheSize),
		trees:   newFIFOCache[string, *tree](2),
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
	key := fmt.Sprintf("%s\x00%s", commit, dir)
	if commit != "" {
		if res, ok := r.results.get(key); ok {
			return res.set, res.err
		}
	}
	set, err := r.render(ctx, repo, commit, dir)
	if commit != "" && (err == nil || IsRenderError(err) && !r.opts.AllowRemote && !r.opts.AllowHelm) {
		r.results.put(key, result{set, err})
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

func (c *fifoCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; !ok {
		c.order = append(c.order, k)
	}
	c.items[k] = v
	for len(c.order) > c.n {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}
