package bluegreen

import (
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// merged is what the applies of one reconcile did, next being the later:
// a cutover applies several times (the idle colour, the switch, the
// settle), and what it reports must count every write, not only the last
// apply's. An object written by prev stays written when next found it
// unchanged (and created when next configured it); an object prev deleted
// and next does not list stays deleted; the rest is next's.
func merged(prev, next *apply.ChangeSet) *apply.ChangeSet {
	if prev == nil {
		return next
	}
	written := map[render.Key]apply.Change{}
	for _, c := range prev.Changes {
		if c.Action == apply.Created || c.Action == apply.Configured || c.Action == apply.Deleted {
			written[c.Key] = c
		}
	}
	out := *next
	out.Duration += prev.Duration
	out.Changes = make([]apply.Change, 0, len(next.Changes))
	listed := map[render.Key]bool{}
	for _, c := range next.Changes {
		listed[c.Key] = true
		if w, ok := written[c.Key]; ok && (c.Action == apply.Unchanged || w.Action == apply.Created && c.Action == apply.Configured) {
			c.Action, c.Reason = w.Action, w.Reason
		}
		out.Changes = append(out.Changes, c)
	}
	for _, c := range prev.Changes {
		if c.Action == apply.Deleted && !listed[c.Key] {
			out.Changes = append(out.Changes, c)
		}
	}
	return &out
}
