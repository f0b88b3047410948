// Package web renders the daemon's status: one value (Status: the
// reconciler's installations, the source, leader or standby, the open pull
// requests' plan checks), read once per request, rendered as JSON
// (GET /api/v1/installations[/NAME]), as the table of `gitopsd status`
// (Status.WriteTable) and as HTML pages built with html/template: the
// fleet (GET /), one installation (GET /installations/NAME; a blue/green
// one with its colours and its cutover's steps and timeline) and a pull
// request's plan (GET /plans/NUMBER: the plan value GET /api/v1/plans/NUMBER
// serves, as the pull request's comment shows it but never cut). The pages
// read fully without JavaScript; with it they fetch themselves every few
// seconds and swap in the new content, so the browser never renders the
// status a second way. Every asset is embedded, so the pages work in an
// air-gapped cluster. Nothing on them changes the cluster, and they show
// no Secret data: only what the status and the plan hold, which name
// objects, fields and a Secret's keys, never its values.
//
//	err := web.Register(mux, web.Deps{Status: current, Plan: checker.Pull}, web.DefaultOptions())
package web
