// Package config reads gitopsd.yaml, the file at the root of a fleet
// repository that lists its installations. Parsing is strict: an unknown
// field, a value of the wrong type, a duplicate name, a path outside the
// repository or a bad duration is an error naming the file, line and field.
// Defaults are applied in one place (defaults.go) and the result is a plain,
// validated Config.
//
//	cfg, err := config.Load(snapshot.Files, "fleet")
//	for _, inst := range cfg.Installations {
//		... inst.Name, inst.Path, inst.Prune ...
//	}
//
// A repository without gitopsd.yaml is one installation: its root directory,
// named after the repository.
package config
