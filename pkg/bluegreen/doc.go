// Package bluegreen runs blue/green installations: the one Deployment of
// an installation's render becomes <name>-blue and <name>-green (label
// gitopsd.io/colour in their selectors), the listed Services select the
// live colour, and a commit that changes the Deployment is cut over: gated
// on a merged pull request and sync windows, rolled out to the idle colour
// at the live colour's size, proven fully available and by an optional
// pre-cutover Job, then switched to in one write per Service. The old
// colour stays at full size for scaleDownDelay, so that `gitopsd rollback`
// is a selector flip.
//
// The cutover is a state machine whose State is a value kept in a
// ConfigMap (Store): each step is saved before it acts, so a restarted or
// failed-over replica resumes at the same step. Cutover.Reconcile is called
// by the reconcile worker of each installation with its render and an
// Applier (the worker's apply and health wait); it returns a Result, and
// the installation's Status for the status API. Cutover.Preview tells what
// Reconcile would apply and do to the colours, with nothing written: plans
// dry-run it. A GitHubReporter turns every change of a cutover into a
// commit status and one pull request comment.
//
//	cut, err := bluegreen.New(bluegreen.Deps{Client: client, Store: bluegreen.NewStore(client, "gitopsd"), Gate: gh}, bluegreen.DefaultOptions())
//	res := cut.Reconcile(ctx, bluegreen.Input{Installation: "checkout", Spec: spec, Commit: sha, Objects: set, Applier: worker})
package bluegreen
