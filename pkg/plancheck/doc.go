// Package plancheck runs plan checks on pull requests: for each open pull
// request into the tracked branch, it fetches the head commit
// (refs/pull/N/head, by SHA, from the tracked repository), plans it against
// the live cluster with pkg/plan (compared with the tracked branch, so only
// the installations the pull request affects), and reports on GitHub: a
// commit status on the head (pending, then success, failure or error, with
// a one-line description) and one comment per pull request and cluster,
// found again by a hidden marker and edited in place, that stays under
// GitHub's size limit however large the plan.
//
// Requests come from the webhook router (Checker is a
// github.PullRequestHandler: Plan and Forget return at once) and from a
// poll of the open pull requests every Interval, which catches missed
// deliveries and plans again when the tracked branch moved. The newest head
// of a pull request wins: a plan of an older head is cancelled, posts
// nothing more, and returns before the newer one starts, so nothing of it
// can land after the newer head's status or comment; a request older than
// the pull request's last known update (webhooks come in any order) names
// a superseded head and is dropped. Pull requests from forks are left
// alone unless PlanForks; then they are planned with Deps.ForkPlanner,
// whose renderer must allow no remote bases or Helm.
//
// pkg/plan stays a value and its renderings, free of GitHub; this package
// is the service that ties it to GitHub (pkg/github) and Git (pkg/source).
//
//	c, err := plancheck.New(opts, plancheck.Deps{GitHub: client, Fetcher: poller, Base: poller, Planner: p, ForkPlanner: forkP})
//	router, err := github.NewRouter(ropts, github.RouterDeps{Sources: ..., PullRequests: c})
//	go c.Run(ctx)
//	for _, pull := range c.Pulls() { fmt.Println(pull.Number, pull.State, pull.Description) }
package plancheck
