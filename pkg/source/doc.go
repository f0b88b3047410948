// Package source follows a Git repository and hands out Snapshots: a commit
// of one ref and its file tree, read straight from git objects.
//
// A Poller follows one ref (a branch, a tag, or a pinned commit) of one
// repository over https, http, ssh or a local path. Each round lists the
// remote refs first (one round trip) and stops there when the commit is the
// one already held; only a new commit is fetched, shallowly and alone, into
// a bare repository under a cache directory that survives restarts. A
// failed round keeps the last good snapshot and records a classified *Error
// ("branch \"release\" not found in https://…", "authentication failed
// for …") in Status; Run retries with capped exponential backoff. Status
// also says since when a round has been under way and since when rounds
// have been failing, so a server that hangs shows before the timeout.
//
// Identity names a repository and ref however they are spelled (https or
// ssh, with or without ".git", "main" or "refs/heads/main"): it is what
// inventories record as an installation's owner, compared with
// SameIdentity.
//
// Follows tells a push webhook (pkg/github's router) whether a pushed
// repository and ref are the ones a Poller follows; Trigger asks it for a
// round now.
//
// FetchRef fetches another ref of the same repository by commit SHA, such
// as a pull request's refs/pull/N/head, into the same cache.
//
// Credentials never appear in options, logs or errors: Auth names a file or
// an environment variable to read them from at each poll.
//
// Usage:
//
//	opts := source.DefaultOptions()
//	opts.URL = "https://github.com/example/fleet.git"
//	opts.CacheDir = "/var/cache/gitopsd/git"
//	opts.Auth = source.Auth{PasswordFile: "/etc/gitopsd/git-token"}
//	metrics := source.NewMetrics()
//	if err := metrics.Register(prometheus.DefaultRegisterer); err != nil { ... }
//	poller, err := source.NewPoller(opts, log, metrics)
//	if err != nil { ... }
//
//	go poller.Run(ctx)
//	for range poller.Updates() {
//		snap, _ := poller.Latest()
//		data, err := fs.ReadFile(snap.Files, "gitopsd.yaml")
//		...
//	}
//
// Snapshot.Files implements fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and
// fs.ReadLinkFS. Symlinks are followed inside the tree only; ReadLink and
// Lstat show every link as it is, so a consumer can refuse links it
// dislikes.
package source
