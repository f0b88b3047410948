// Package apply puts an installation's rendered objects into the cluster with
// server-side apply and removes what left Git.
//
// A Manager applies an ObjectSet in stages (CustomResourceDefinitions and
// Namespaces, then cluster-scoped policy, then the rest), concurrently within
// a stage, as field manager "gitopsd" with force. An object whose digest
// equals the one last applied, and whose fields managed by gitopsd nobody
// else changed, is not sent at all: a no-op apply lists each kind once and
// writes nothing. Objects that left Git are pruned in reverse stage order,
// but only when they still carry the installation's label. What happened to
// each object is returned as a ChangeSet; the package logs nothing a caller
// could not render from it.
//
//	m, err := apply.NewManager(restConfig, inventory.NewStore(clientset, inventory.DefaultNamespace), logger)
//	cs, err := m.Apply(ctx, apply.Request{Installation: "web", Commit: sha, Objects: set}, apply.DefaultOptions())
//	health, err := m.Wait(ctx, cs, 5*time.Minute)
package apply
