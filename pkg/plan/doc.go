// Package plan tells what applying a commit of a fleet would do to the
// cluster, as a value: for each installation, a render error (file and
// line), an error asking the cluster, a refusal of the whole installation
// (another daemon owns it), or the objects that would be created, changed
// (a unified diff of the server-side dry run against the live object,
// without what the server maintains), pruned or refused, and how many
// would stay unchanged. Secret values never appear: a Secret's change
// lists its keys as added, changed or removed.
//
// Given a base commit, the plan keeps only the installations the head
// changes: added, removed or reconfigured in gitopsd.yaml, or rendering to
// other objects. The dry runs are the apply engine's (apply.Manager.Diff);
// nothing is written. Given a Source (the repository and ref a daemon
// follows), installations another source owns are refused, as applying
// them would be.
//
// A blue/green installation is planned as the daemon would apply the
// commit, given its cutover state (Deps.Colours, bluegreen.Cutover's
// Preview): its coloured Deployments and Services, and a line saying what
// would happen to the colours (a cutover would start, replicas change in
// place, the first apply makes blue live).
//
// One value, several renderings: text for a terminal, Markdown for a pull
// request comment (bounded to a number of characters, cut at object
// boundaries), JSON, and Headline, one line for a commit status.
//
//	p, err := plan.New(plan.Deps{Load: load, Renderer: render.NewRenderer(opts, log), Differ: manager})
//	pl, err := p.Plan(ctx, plan.Request{Head: head, Base: &base, Source: "https://github.com/example/fleet.git@main"})
//	err = plan.WriteText(os.Stdout, pl)
//	comment := plan.Markdown(pl, plan.MarkdownOptions{Limit: 65000, More: "Run `gitopsd plan` for all."})
//	if s := pl.Summary(); s.Failed() { ... } else if s.Changes() { ... }
package plan
