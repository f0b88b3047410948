// Package render turns an installation's directory in a repository snapshot
// into an ObjectSet: the Kubernetes objects to apply, in apply order, each
// with a digest, plus a digest of the whole set.
//
// A directory with a kustomization is built with kustomize (krusty) over an
// in-memory copy of the tree; nothing is written to disk. Loading stays
// restricted to the kustomization root, remote bases and Helm charts are
// refused unless enabled, and a symlink that leaves the repository is an
// error. A directory without a kustomization renders its *.yaml and *.yml
// files as a plain list.
//
//	r := render.NewRenderer(render.DefaultOptions())
//	set, err := r.Render(ctx, snapshot.Files, snapshot.Commit, "apps/web/overlays/prod")
//
// krusty is not safe to run concurrently in one process, so builds are
// serialised; renders are cached by (commit, path, options), so most
// reconciles never build.
package render
