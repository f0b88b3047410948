// Package plan tells what applying a commit of a fleet would do to the
// cluster, as a value: for each installation, a render error (file and
// line), an error asking the cluster, or the objects that would be created,
// changed (a unified diff of the server-side dry run against the live
// object, without what the server maintains), pruned or refused, and how
// many would stay unchanged. Secret values never appear: a Secret's change
// lists its keys as added, changed or removed.
//
// Given a base commit, the plan keeps only the installations the head
// changes: added, removed or reconfigured in gitopsd.yaml, or rendering to
// other objects. The dry runs are the apply engine's (apply.Manager.Diff);
// nothing is written. The text and JSON renderings here, a pull request
// comment elsewhere, all render the same value.
//
//	p, err := plan.New(plan.Deps{Load: load, Renderer: render.NewRenderer(opts, log), Differ: manager})
//	pl, err := p.Plan(ctx, plan.Request{Head: snapshot})
//	err = plan.WriteText(os.Stdout, pl)
//	if s := pl.Summary(); s.Failed() { ... } else if s.Changes() { ... }
package plan
