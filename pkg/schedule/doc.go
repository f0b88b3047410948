// Package schedule decides when changes may be applied: sync windows, each
// a cron schedule that opens an allow or deny window for a duration in a
// time zone, with Argo CD's semantics. A deny window that is open forbids;
// otherwise, when any allow window is defined, changes apply only while one
// is open; with no windows at all, they always apply.
//
//	w, err := schedule.NewWindow(schedule.Deny, "0 9 * * 1-5", 8*time.Hour, "Europe/Berlin")
//	ws := schedule.Windows{w}
//	if ok, until := ws.Allowed(time.Now()); !ok { ... held until `until` ... }
package schedule
