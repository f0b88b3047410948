package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// krustyTurn serialises kustomize builds: krusty keeps process-wide state
// (the OpenAPI schema) and is not safe to run concurrently.
var krustyTurn = make(chan struct{}, 1)

// kustomize builds the kustomization in dir (a path in t, rooted at "/").
// Its errors name the kustomization file.
func kustomize(ctx context.Context, t *tree, dir string, opts Options) ([]Object, error) {
	file, _ := kustomizationFile(t, dir)
	rel := strings.TrimPrefix(file, "/")
	if err := checkRefs(t, dir, opts); err != nil {
		return nil, err
	}
	fsys, root := filesys.FileSystem(t), dir
	if opts.AllowRemote || opts.AllowHelm {
		// Remote bases are cloned, and charts inflated, on disk by
		// kustomize, so the tree must be there too.
		tmp, err := os.MkdirTemp("", "gitopsd-render-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := writeTree(t, tmp); err != nil {
			return nil, err
		}
		fsys, root = filesys.MakeFsOnDisk(), filepath.Join(tmp, filepath.FromSlash(dir))
	}
	select {
	case krustyTurn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m, err := krusty.MakeKustomizer(krustyOptions(opts)).Run(fsys, root)
	<-krustyTurn
	if err != nil {
		var escape *Error
		if errors.As(err, &escape) {
			return nil, escape
		}
		return nil, &Error{Path: rel, Err: fmt.Errorf("kustomize: %w", err)}
	}
	objs := make([]Object, 0, m.Size())
	for _, res := range m.Resources() {
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, &Error{Path: rel, Err: err}
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, &Error{Path: rel, Err: fmt.Errorf("%s: %w", res.CurId(), err)}
		}
		objs = append(objs, Object{Unstructured: u, Source: rel})
	}
	return objs, nil
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

// writeTree copies the in-memory tree to dir on disk.
func writeTree(t *tree, dir string) error {
	return t.Walk("/", func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := t.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}
