package apply

import (
	"github.com/gitopsd/gitopsd/pkg/render"
)

// Options control one Apply.
type Options struct {
	// Concurrency bounds the requests in flight within a stage.
	Concurrency int
	// Prune deletes objects that left Git.
	Prune bool
	// AllowEmpty lets an empty render prune every object of an installation.
	AllowEmpty bool
	// DryRun sends every change as a server-side dry run and saves nothing.
	DryRun bool
	// Ignore lists fields gitopsd neither sets nor corrects, such as the
	// replicas of a Deployment scaled by an autoscaler.
	Ignore []IgnoreRule
	// ReportDrift leaves objects that changed in the cluster but not in Git
	// as they are (skipped, with the reason): drift is only reported.
	ReportDrift bool
	// Hold lists objects whose drift is not corrected now, with the reason
	// (such as a fight with another writer).
	Hold map[render.Key]string
	// Keep lists objects that left Git but must not be pruned yet, with
	// the reason (such as a ConfigMap that the old colour of a blue/green
	// installation still uses). They stay in the inventory, skipped, until
	// an apply that no longer keeps them prunes them.
	Keep map[render.Key]string
	// Protected lists objects prune never deletes, whatever the inventory
	// says, with the reason: what the daemon runs on, such as its
	// namespace and its leader election Lease. A protected object is
	// skipped with that reason and forgotten, so the prune is not retried.
	// Inventories (ConfigMaps labelled gitopsd.io/inventory) are never
	// pruned either.
	Protected map[render.Key]string
}

// DefaultOptions apply 8 objects at a time and prune.
func DefaultOptions() Options {
	return Options{Concurrency: 8, Prune: true}
}

// withDefaults fills in what a caller left zero.
func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultOptions().Concurrency
	}
	return o
}

// Request is one installation's desired state.
type Request struct {
	Installation string
	// Namespace is set on namespaced objects without one; "default" when
	// empty.
	Namespace string
	// Source identifies who owns the installation: a daemon's repository
	// and ref, as source.Identity names them. It is recorded in the
	// inventory, normalised, and an inventory owned by another source is
	// refused; spellings of one source are the same (source.SameIdentity).
	// Empty (a one-off apply from the command line) claims nothing and
	// keeps the recorded owner.
	Source string
	// Fleet names every installation Source holds now (those of its
	// gitopsd.yaml). An object is refused while another installation's
	// label is on it and that installation's inventory lists it, unless
	// that installation is of Source and not in Fleet: it was removed or
	// renamed, and its objects move to this one before its removal prunes
	// the rest. Empty: every other installation keeps what its inventory
	// lists.
	Fleet []string
	// Commit is recorded in the inventory when the apply succeeds.
	Commit  string
	Objects *render.ObjectSet
}
