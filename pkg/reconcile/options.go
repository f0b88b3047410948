package reconcile

import (
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
)

// ApplyOptions are the engine options for inst: base with the
// installation's prune setting and ignore rules.
func ApplyOptions(base apply.Options, inst config.Installation) apply.Options {
	opts := base
	opts.Prune = inst.Prune
	opts.Ignore = nil
	for _, r := range inst.Ignore {
		opts.Ignore = append(opts.Ignore, apply.IgnoreRule{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Paths: r.Paths})
	}
	return opts
}
