// Package render turns an installation's directory in a repository snapshot
// into an ObjectSet: the Kubernetes objects to apply, in apply order, each
// with a digest, plus a digest of the whole set.
//
// A directory with a kustomization is built with kustomize (krusty) over a
// read-only file system on the snapshot: a file is read when kustomize asks
// for it, nothing is copied or written to disk, and files kustomize does not
// need (odd names, broken symlinks) do not matter. Symlinks resolve as they
// would on disk, so kustomize's rule that a kustomization loads only files
// in or below its directory applies to where a link lands; a link that
// leaves the repository is an error. A directory without a kustomization
// renders its *.yaml and *.yml files as a plain list.
//
// Unless Options allow it, no byte of a render comes from the network:
// kustomizations whose bases are remote (which kustomize would clone with
// git) are refused when kustomize reads them, before it acts on them, and
// every HTTP request kustomize makes for a remote file in any other field is
// refused before it leaves the process. To see those requests, importing
// this package wraps the proxy function of http.DefaultTransport (the
// transport kustomize's loader uses) with a check that answers only
// kustomize's requests made during a build. Helm charts are refused unless
// enabled; then chart homes are copied to a temporary directory for the
// helm binary.
//
// A panic in kustomize fails that render with "kustomize panicked: ...",
// and later renders go on. Kustomize's warnings, which it prints to the
// process's standard error, are logged through the Renderer's logger
// instead: during a build, descriptor 2 points at a pipe that passes
// everything else on.
//
//	r := render.NewRenderer(render.DefaultOptions(), log)
//	set, err := r.Render(ctx, snapshot.Files, snapshot.Commit, "apps/web/overlays/prod")
//
// krusty is not safe to run concurrently in one process, so builds are
// serialised; renders are cached by (commit, path), so most reconciles
// never build. Errors caused by the commit's content are *Error and cached
// with it; a failed fetch of remote content (when allowed) is not, so the
// next render tries again.
package render
