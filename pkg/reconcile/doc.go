// Package reconcile is gitopsd's control loop. It follows the snapshots of a
// repository, reads gitopsd.yaml from each, and keeps one worker per
// installation that renders, applies, prunes and waits for health. Workers
// run in parallel; each retries a failure on the same commit with capped
// exponential backoff, reconciles again every interval, and drops a health
// wait as soon as a newer commit arrives. Installations removed from
// gitopsd.yaml are pruned if they pruned, and forgotten.
//
// Outcomes are kept as values (Status) that the HTTP API, metrics and
// Kubernetes Events render:
//
//	r := reconcile.New(poller, renderer, manager, store, events, metrics, logger, reconcile.DefaultOptions())
//	go r.Run(ctx)
//	for _, s := range r.Status().Installations { ... }
package reconcile
