// Package apply puts an installation's rendered objects into the cluster with
// server-side apply and removes what left Git.
//
// A Manager applies an ObjectSet in stages (CustomResourceDefinitions and
// Namespaces, then cluster-scoped policy, then the rest), concurrently within
// a stage, as field manager "gitopsd" with force. An object whose digest
// equals the one last applied, and whose fields managed by gitopsd nobody
// else changed, is not sent at all: a no-op apply lists each kind once and
// writes nothing. Objects that left Git are pruned in reverse stage order,
// but only when they still carry the installation's label; a Namespace or a
// CustomResourceDefinition whose deletion would take another
// installation's objects with it is kept, and tried again at the next
// apply. One object has one owner: an object that another installation's
// label and inventory claim is refused (ClaimError), not taken. What
// happened to each object is returned as a ChangeSet; the package logs
// nothing a caller could not render from it.
//
// See Example for a whole round: apply, wait for health, apply again, and
// remove.
package apply
