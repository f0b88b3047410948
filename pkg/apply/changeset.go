package apply

import (
	"errors"
	"fmt"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// Action is what happened, or in a dry run would happen, to an object.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Deleted    Action = "deleted"
	Skipped    Action = "skipped"
	Failed     Action = "failed"
)

// Actions lists every action in the order summaries print them.
var Actions = []Action{Created, Configured, Unchanged, Deleted, Skipped, Failed}

// Change is the outcome for one object.
type Change struct {
	Key     render.Key
	Version string
	Action  Action
	// Reason says why an object was skipped or failed, or what was done
	// beyond a plain apply (such as a recreate).
	Reason string
	// Err is the error of a failed change.
	Err error
}

// ChangeSet is the outcome of one Apply, object by object, in apply order
// followed by prunes.
type ChangeSet struct {
	Installation string
	Commit       string
	DryRun       bool
	Changes      []Change
	Duration     time.Duration
	// Owned is what the installation owns after the apply, as recorded in
	// its inventory; nil for a dry run.
	Owned []inventory.Entry
}

// Counts returns the number of changes per action.
func (cs *ChangeSet) Counts() map[Action]int {
	counts := make(map[Action]int, len(Actions))
	for _, c := range cs.Changes {
		counts[c.Action]++
	}
	return counts
}

// Summary is a one-line account such as "3 created, 10 unchanged, 1 failed".
func (cs *ChangeSet) Summary() string {
	counts := cs.Counts()
	s := ""
	for _, a := range Actions {
		if counts[a] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d %s", counts[a], a)
		}
	}
	if s == "" {
		s = "no objects"
	}
	if cs.DryRun {
		s += " (dry run)"
	}
	return s
}

// Err joins the errors of the failed changes; nil when none failed.
func (cs *ChangeSet) Err() error {
	var errs []error
	for _, c := range cs.Changes {
		if c.Action == Failed {
			errs = append(errs, c.Err)
		}
	}
	return errors.Join(errs...)
}
