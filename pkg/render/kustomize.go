package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// krustyTurn serialises kustomize builds: krusty keeps process-wide state
// (the OpenAPI schema) and is not safe to run concurrently.
var krustyTurn = make(chan struct{}, 1)

// kustomize builds the kustomization file of dir in repo. Its errors name
// the kustomization file and repository paths; a failure to fetch remote
// content (when allowed) is not an *Error, since a retry may succeed.
func (r *Renderer) kustomize(ctx context.Context, repo fs.FS, dir, file string, origins bool) ([]Object, error) {
	b := newBuild(repo, file, r.opts)
	b.origins = origins
	if r.opts.AllowHelm {
		// The helm binary reads charts from disk: the repository appears
		// at a real, empty directory, where chart homes are copied.
		tmp, err := os.MkdirTemp("", "gitopsd-render-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if tmp, err = filepath.EvalSymlinks(tmp); err != nil {
			return nil, err
		}
		b.root = filepath.ToSlash(filepath.Join(tmp, "repo"))
	}
	m, err := r.run(ctx, b, dir)
	if b.refused != nil {
		return nil, b.refused
	}
	var panicked *panicError
	if errors.As(err, &panicked) {
		return nil, &Error{Path: file, Err: err}
	}
	if err != nil {
		if b.fetched {
			return nil, fmt.Errorf("%s: kustomize: %s", file, b.relative(err.Error()))
		}
		return nil, &Error{Path: file, Err: fmt.Errorf("kustomize: %s", b.relative(err.Error()))}
	}
	objs := make([]Object, 0, m.Size())
	for _, res := range m.Resources() {
		source := file
		if origins {
			source = originOf(res, dir, file)
		}
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, &Error{Path: file, Err: err}
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, &Error{Path: file, Err: fmt.Errorf("%s: %w", res.CurId(), err)}
		}
		objs = append(objs, Object{Unstructured: u, Source: source})
	}
	return objs, nil
}

// run runs kustomize on its turn. A panic in kustomize fails the build, and
// the next build runs as usual.
func (r *Renderer) run(ctx context.Context, b *build, dir string) (m resmap.ResMap, err error) {
	select {
	case krustyTurn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-krustyTurn }()
	running.Store(b)
	defer running.Store(nil)
	stop := captureWarnings()
	defer func() {
		for _, w := range stop() {
			r.log.Warn("kustomize warning", logkey.File, b.file, logkey.Warning, b.relative(w))
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			r.log.Debug("kustomize panicked", logkey.File, b.file, logkey.Stack, string(debug.Stack()))
			m, err = nil, &panicError{value: p}
		}
	}()
	return krusty.MakeKustomizer(krustyOptions(r.opts)).Run(b.fs(), path.Join(b.root, dir))
}

// panicError is a panic in kustomize, which fails the build only.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("kustomize panicked: %v", e.value) }

// relative cuts the repository's root off the paths in a kustomize message.
func (b *build) relative(msg string) string {
	msg = strings.ReplaceAll(msg, b.root+"/", "")
	return strings.ReplaceAll(msg, b.root, ".")
}

func krustyOptions(opts Options) *krusty.Options {
	k := krusty.MakeDefaultOptions() // root-only loading, no plugins, input order
	if opts.AllowHelm {
		k.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
		k.PluginConfig.HelmConfig.Enabled = true
		k.PluginConfig.HelmConfig.Command = "helm"
	}
	return k
}

// originOf returns the file an object came from, by kustomize's origin
// annotation (relative to the kustomization directory dir), or file when
// it has none.
func originOf(res *resource.Resource, dir, file string) string {
	o, err := res.GetOrigin()
	switch {
	case err != nil || o == nil:
		return file
	case o.Repo != "":
		return o.Repo + "//" + o.Path
	case o.Path != "":
		return path.Join(dir, o.Path)
	case o.ConfiguredIn != "":
		return path.Join(dir, o.ConfiguredIn)
	}
	return file
}

// kustomizationFile returns the kustomization file in dir, if any.
func kustomizationFile(repo fs.FS, dir string) (string, bool) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		if info, err := fs.Stat(repo, p); err == nil && !info.IsDir() {
			return p, true
		}
	}
	return "", false
}
