// Package modules is a small registry of the parts gitopsd runs: each module
// has a name, the modules it depends on, and an init function that returns
// the service to run. A target (such as "reconciler" or "all") is started
// with everything it depends on, in dependency order, under one errgroup:
// the first service to fail stops the others and its error is returned.
// Unknown names and dependency cycles are refused before anything starts.
//
//	reg := modules.New()
//	reg.Register("kube", nil, initKube)
//	reg.Register("reconciler", []string{"kube"}, initReconciler)
//	err := reg.Run(ctx, []string{"reconciler"})
package modules
