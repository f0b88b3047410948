// Package github is gitopsd's side of GitHub: a client for the few REST
// calls it makes, and the webhook router.
//
// The Client (over go-github) works on one repository: it posts commit
// statuses only when they change, keeps one comment per pull request and
// key that it edits in place (found again by a hidden marker), lists and
// gets pull requests, and answers the merged-PR gate (is a commit the
// merge commit of a pull request merged into a branch). Every call waits
// out GitHub's primary and secondary rate limits and retries; writes are
// spaced; requests and the remaining quota are Prometheus metrics.
//
//	c, err := github.NewClient(opts, github.Deps{Registerer: reg, Log: log})
//	_, err = c.SetStatus(ctx, github.Status{SHA: head, Context: "gitopsd/plan", State: github.Pending})
//	_, err = c.UpsertComment(ctx, pr.Number, "plan", markdown)
//	merged, ok, err := c.MergedPullRequest(ctx, commit, "main")
//
// The Router serves POST /hooks/github: it checks the delivery's
// X-Hub-Signature-256 once, then routes by X-GitHub-Event: push wakes the
// sources that follow the pushed repository and ref, pull_request goes to a
// PullRequestHandler (plan or forget), ping is answered. It bounds the time
// and memory an unauthenticated sender can hold.
//
// With several replicas behind one Service, a delivery lands on any of
// them, but only the leader polls Git and plans pull requests: a standby
// holds no copy of the work to act on. So a standby (RouterDeps.Leadership)
// forwards each signed push and pull_request delivery as it came, body and
// signature, to the leader's HTTP address, which the leader publishes with
// its identity in the Lease (from POD_IP, through the Downward API), and
// answers GitHub with the leader's reply. This was chosen over a signal
// through the API server (a standby bumps an annotation the leader
// watches), which would need RBAC to watch and write the Lease, a write per
// delivery, and would carry no payload, so a pull_request would cost the
// leader a listing of the open pull requests; and over routing the Service
// to the leader alone, which leaves no Pod to deliver to while the Lease
// moves and a standby that is never ready. Forwarding needs only to read
// the Lease, which every replica does to campaign, and one hop between
// Pods on the HTTP port (deploy/'s NetworkPolicy allows it); the leader
// checks the signature again, so a forwarded delivery is trusted no more
// than one from GitHub, and a forwarded delivery is never forwarded again.
// During a failover the standby keeps trying for ForwardTimeout: the
// leader as it last saw the Lease, or itself once it leads; when none is
// reached it answers 503. Nothing is lost for good: a new leader polls Git
// and lists the open pull requests as it starts, which covers what it
// missed. A standby is ready (Router.Ready) once it knows where the leader
// listens.
//
// Package githubtest is an in-process fake of the API for tests.
package github
