// Package modules is a small registry of the parts gitopsd runs, and their
// lifecycle. Each module has a name, the modules it depends on, and an init
// function that returns the service to run (or none).
//
// Run takes targets (such as "reconciler" or "all") and everything they
// depend on. It initialises every module first, each after its
// dependencies, so that a bad configuration starts nothing; then it starts
// the services in dependency order (a Starter's Start returns before the
// next module starts). When ctx ends or a service fails, it stops them in
// reverse order: a module's context is cancelled only once every module
// using it has returned, so the reconciler has finished before the leader
// election it depends on releases the Lease. The first failure stops all,
// and a panic or an unasked return counts as a failure. Unknown names and
// dependency cycles are refused before anything starts.
//
//	reg := modules.New()
//	reg.RegisterHidden("kube", nil, initKube)
//	reg.Register("reconciler", []string{"kube"}, initReconciler)
//	err := reg.Run(ctx, []string{"reconciler"})
//
// Ready and States tell, per module, whether it runs and is ready.
package modules
