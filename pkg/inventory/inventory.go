package inventory

import (
	"sort"

	"github.com/gitopsd/gitopsd/pkg/render"
)

// Entry is one object an installation owns.
type Entry struct {
	Group     string `json:"g,omitempty"`
	Version   string `json:"v"`
	Kind      string `json:"k"`
	Namespace string `json:"ns,omitempty"`
	Name      string `json:"n"`
	// Digest is the digest of the object last applied; empty while an
	// apply of it is under way or failed.
	Digest string `json:"d,omitempty"`
	// Fields is a hash of the fields gitopsd manages on the live object,
	// read back after the apply; when it changes, someone else changed a
	// field gitopsd set.
	Fields string `json:"f,omitempty"`
}

// Key returns the entry's object key.
func (e Entry) Key() render.Key {
	return render.Key{Group: e.Group, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name}
}

// Inventory is what one installation owns.
type Inventory struct {
	Installation string `json:"installation"`
	// Source is the repository and ref the installation comes from, so
	// that a daemon following one repository never removes what another's
	// installations own. It is a source.Identity; inventories written
	// before hold "URL@REF" as configured, which source.SameIdentity
	// compares alike.
	Source string `json:"source,omitempty"`
	// Commit is the commit of the last complete apply.
	Commit string `json:"commit,omitempty"`
	// Prune records whether the installation prunes, so that objects of an
	// installation removed from gitopsd.yaml are pruned only if it did.
	Prune   bool    `json:"prune"`
	Entries []Entry `json:"entries"`

	// resourceVersion of the stored ConfigMap, for optimistic concurrency.
	resourceVersion string
}

// Index maps each entry's key to the entry.
func (inv *Inventory) Index() map[render.Key]Entry {
	idx := make(map[render.Key]Entry, len(inv.Entries))
	for _, e := range inv.Entries {
		idx[e.Key()] = e
	}
	return idx
}

// Sort orders the entries by key, so that stored inventories are stable.
func (inv *Inventory) Sort() {
	sort.Slice(inv.Entries, func(i, j int) bool {
		a, b := inv.Entries[i], inv.Entries[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}
