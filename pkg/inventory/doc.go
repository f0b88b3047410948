// Package inventory stores, per installation, what gitopsd owns in the
// cluster: every object it applied (group, version, kind, namespace, name),
// the digest it applied, a hash of the fields it manages on the live object,
// and the commit. It lives in the cluster, in one ConfigMap per installation
// in the gitopsd-system namespace, so that the daemon is stateless and a
// restarted or failed-over replica continues where the last one stopped.
//
// One ConfigMap is written in one request, so a reader never sees half an
// inventory. The apply engine writes a pending inventory (old and new objects
// together) before it changes the cluster and the final one after, so a crash
// in between leaves nothing it created unowned.
//
//	store := inventory.NewStore(clientset, inventory.DefaultNamespace)
//	inv, err := store.Load(ctx, "web")
//	...
//	err = store.Save(ctx, inv)
package inventory
