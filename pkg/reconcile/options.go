package reconcile

import (
	"io/fs"
	"reflect"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/schedule"
)

// Installation is what the reconciler knows of one installation listed in
// the repository.
type Installation struct {
	Name, Path, Namespace string
	Prune                 bool
	// CorrectDrift puts Git's state back; otherwise drift is reported.
	CorrectDrift      bool
	Interval, Timeout time.Duration
	Ignore            []apply.IgnoreRule
	Windows           schedule.Windows
}

// Equal reports whether two installations are configured alike.
func (inst Installation) Equal(other Installation) bool { return reflect.DeepEqual(inst, other) }

// Fleet is the installations one snapshot lists.
type Fleet struct {
	Installations []Installation
	// Implicit is set when the repository lists none and is one
	// installation itself: if the list was deleted by mistake, the
	// installations it held are stopped, not pruned.
	Implicit bool
}

// Loader reads the installations from a snapshot's files; the daemon reads
// gitopsd.yaml. Its errors name the file, line and field.
type Loader func(files fs.FS) (Fleet, error)

// ApplyOptions are the engine options for inst: base with the
// installation's prune setting, ignore rules and drift policy.
func ApplyOptions(base apply.Options, inst Installation) apply.Options {
	opts := base
	opts.Prune, opts.Ignore, opts.ReportDrift = inst.Prune, inst.Ignore, !inst.CorrectDrift
	return opts
}
