// Package reconcile is gitopsd's control loop. It follows the snapshots of a
// repository, reads gitopsd.yaml from each, and keeps one worker per
// installation that renders, applies, prunes and waits for health. Workers
// run in parallel; each retries a failure on the same commit with capped
// exponential backoff, reconciles again every interval, and drops a health
// wait as soon as a newer commit arrives. Installations removed from
// gitopsd.yaml are pruned if they pruned, and forgotten; a gitopsd.yaml
// that disappears is a configuration error, not a fleet of one.
//
// An idle daemon costs the API server little: inventories are read only
// after a watch says they changed (WatchedInventories), and a periodic
// reconcile that writes nothing looks at health again only when the drift
// watch saw its objects change.
//
// Outcomes are kept as values (Status) that the HTTP API, metrics and
// Kubernetes Events render:
//
//	r, err := reconcile.New(reconcile.Deps{Snapshots: poller, Renderer: renderer, Applier: manager, Inventories: inventories, Drift: detector}, opts)
//	go r.Run(ctx)
//	for _, s := range r.Status().Installations { ... }
package reconcile
