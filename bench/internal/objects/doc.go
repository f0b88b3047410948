// Package objects generates the benchmarks' Kubernetes objects: sets of a
// given size, one Namespace per hundred objects and the rest an even mix of
// ConfigMaps, Secrets, headless Services, ServiceAccounts, Deployments, Roles
// and RoleBindings, small but shaped like what teams keep in Git. Every
// object carries LabelSet, so that a set can be listed and counted.
//
//	set := objects.Generate("gitopsd-1000-r1", 1000)
//	err := set.WriteDir(dir) // YAML files, one per namespace
package objects
