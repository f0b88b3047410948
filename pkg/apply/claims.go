package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ClaimError refuses an object that another installation holds: it
// carries that installation's label and that installation's inventory
// lists it. Taking it would start a tug of war in which each installation
// takes the object back at its next apply and either may prune it.
type ClaimError struct {
	Key render.Key
	// Installation is the one refused; Holder the one that holds the object.
	Installation, Holder string
	// HolderSource is the source recorded in the holder's inventory when it
	// is not the refused installation's.
	HolderSource string
}

func (e *ClaimError) Error() string {
	holder := "installation " + e.Holder
	if e.HolderSource != "" {
		holder += " (of " + e.HolderSource + ")"
	}
	return fmt.Sprintf("%s belongs to %s, whose inventory lists it; installation %s does not take it over. Render it in one installation only: remove it from %s or from %s",
		e.Key, holder, e.Installation, e.Installation, e.Holder)
}

// IsClaimed reports whether err is, or joins, a *ClaimError.
func IsClaimed(err error) bool {
	var ce *ClaimError
	return errors.As(err, &ce)
}

// refuseClaimed fails the items about to be sent that another installation
// holds. Only objects not labelled with this installation can be another's,
// and they are looked for with one list per kind: an apply that sends
// nothing new reads nothing more.
func (m *Manager) refuseClaimed(ctx context.Context, req Request, items []*item, live map[render.Key]*metav1.PartialObjectMetadata, concurrency int) error {
	mappings := map[schema.GroupVersionResource]*meta.RESTMapping{}
	var candidates []*item
	for _, it := range items {
		if !it.decided() && it.mapping != nil && live[it.key] == nil && it.src.GetAnnotations()[AnnotationReconcile] != disabled {
			mappings[it.mapping.Resource] = it.mapping
			candidates = append(candidates, it)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	labelled, err := m.labelledByOthers(ctx, req.Installation, mappings, concurrency)
	if err != nil {
		return err
	}
	holders := map[string]*inventory.Inventory{}
	for _, it := range candidates {
		holder, ok := labelled[it.key]
		if !ok {
			continue
		}
		inv, ok := holders[holder]
		if !ok {
			if inv, err = m.inventories.Load(ctx, holder); err != nil {
				return fmt.Errorf("%s carries the label of installation %s: %w", it.key, holder, err)
			}
			holders[holder] = inv
		}
		if !slices.ContainsFunc(inv.Entries, func(e inventory.Entry) bool { return e.Key() == it.key }) || released(req, holder, inv) {
			it.takenFrom = holder // let go of: this installation may take it over
			continue
		}
		claim := &ClaimError{Key: it.key, Installation: req.Installation, Holder: holder}
		if !source.SameIdentity(inv.Source, req.Source) {
			claim.HolderSource = inv.Source
		}
		it.fail(claim)
	}
	return nil
}

// released reports whether holder, whose inventory is inv, gives its
// objects up to req's installation: it belongs to the same source and has
// left that source's fleet (a rename or a removal under way).
func released(req Request, holder string, inv *inventory.Inventory) bool {
	return req.Source != "" && len(req.Fleet) > 0 && !slices.Contains(req.Fleet, holder) && source.SameIdentity(inv.Source, req.Source)
}

// labelledByOthers lists, once per resource, the objects labelled with an
// installation other than installation, and returns their holders.
func (m *Manager) labelledByOthers(ctx context.Context, installation string, mappings map[schema.GroupVersionResource]*meta.RESTMapping, concurrency int) (map[render.Key]string, error) {
	selector := LabelInstallation + "," + LabelInstallation + "!=" + installation
	objs, err := listPerKind(ctx, selector, mappings, concurrency, m.listMetadata)
	if err != nil {
		return nil, fmt.Errorf("objects of other installations: %w", err)
	}
	holders := make(map[render.Key]string, len(objs))
	for key, o := range objs {
		holders[key] = o.Labels[LabelInstallation]
	}
	return holders, nil
}
