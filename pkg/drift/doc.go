// Package drift sees out-of-band changes to the objects gitopsd manages as
// they happen. It watches, with metadata-only informers filtered by the
// gitopsd.io/installation label, the kinds each installation owns, and
// compares every change with what gitopsd last applied: a hash of the
// fields gitopsd manages. A mismatch is confirmed with a server-side dry run
// (apply.Manager.CheckDrift), so defaulting never counts, and reported with
// the fields and the manager that changed them. By policy the installation
// is then reconciled, which re-applies only the drifted objects; an object
// whose other writer keeps changing it back is held, not fought over, and
// checked again when the hold ends. A correction that fails (gitopsd's own
// write refused) is the reconciler's to retry; it never counts as a fight.
//
// Nothing is polled: when nothing changes, the detector makes no requests.
// Kinds it cannot watch and failing watches are retried and listed by
// Problems.
//
// See ExampleDetector for a detector tracking one installation.
package drift
