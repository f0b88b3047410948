// Package web renders the daemon's status: one value (Status: the
// reconciler's installations, the source, leader or standby), read once
// per request, rendered as JSON (GET /api/v1/installations[/NAME]), as the
// table of `gitopsd status` (Status.WriteTable) and as HTML pages built
// with html/template: the fleet (GET /) and one installation
// (GET /installations/NAME). The pages read fully without JavaScript; with
// it they fetch themselves every few seconds and swap in the new content,
// so the browser never renders the status a second way. Every asset is
// embedded, so the pages work in an air-gapped cluster. Nothing on them
// changes the cluster, and they show no Secret data: only what the status
// holds, which names objects and fields, never values.
//
// The state of later parts slots in the same way: a plan of a pull request
// becomes a value in Status with a section on the fleet page and its own
// page (/plans/NUMBER); a blue/green installation's colours and cutover
// become part of its InstallationStatus with a section on its page.
//
//	err := web.Register(mux, func() web.Status { return current() }, web.DefaultOptions())
package web
