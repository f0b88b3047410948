package apply

import (
	"cmp"
	"context"
	"slices"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// savePending adds the objects about to be created to the inventory before
// anything is applied, so that a crash between applying and the final save
// leaves no object unowned: the next apply still knows to prune it.
func (m *Manager) savePending(ctx context.Context, prev *inventory.Inventory, items []*item, source string) error {
	idx := prev.Index()
	pending := *prev
	pending.Source = cmp.Or(source, prev.Source)
	pending.Entries = slices.Clone(prev.Entries)
	for _, it := range items {
		if _, ok := idx[it.key]; !ok && !it.decided() {
			pending.Entries = append(pending.Entries, it.ownedEntry())
		}
	}
	if len(pending.Entries) == len(prev.Entries) {
		return nil
	}
	if err := m.inventories.Save(ctx, &pending); err != nil {
		return err
	}
	*prev = pending
	return nil
}

// saveFinal records what the installation owns after the apply: every
// desired object and the stale ones that could not be pruned. The commit is
// recorded only when every object applied. Nothing is written when nothing
// changed. It returns the entries owned.
func (m *Manager) saveFinal(ctx context.Context, prev *inventory.Inventory, items []*item, kept []inventory.Entry, req Request, prune, complete bool) ([]inventory.Entry, error) {
	next := *prev
	next.Prune, next.Source = prune, cmp.Or(req.Source, prev.Source)
	if complete {
		next.Commit = req.Commit
	}
	next.Entries = make([]inventory.Entry, 0, len(items)+len(kept))
	for _, it := range items {
		switch {
		case it.entry.Name != "":
			next.Entries = append(next.Entries, it.entry)
		case IsClaimed(it.change.Err):
			// Another installation holds it: not this one's to prune.
		default:
			next.Entries = append(next.Entries, it.ownedEntry())
		}
	}
	next.Entries = append(next.Entries, kept...)
	next.Sort()
	if next.Commit == prev.Commit && next.Prune == prev.Prune && next.Source == prev.Source && slices.Equal(next.Entries, prev.Entries) {
		return next.Entries, nil
	}
	return next.Entries, m.inventories.Save(ctx, &next)
}

// stale returns the inventory entries no longer rendered.
func stale(prev *inventory.Inventory, items []*item) []inventory.Entry {
	desired := make(map[render.Key]bool, len(items))
	for _, it := range items {
		desired[it.key] = true
	}
	var out []inventory.Entry
	for _, e := range prev.Entries {
		if !desired[e.Key()] {
			out = append(out, e)
		}
	}
	return out
}
