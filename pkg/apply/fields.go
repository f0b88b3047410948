package apply

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// FieldsHash hashes the fields gitopsd manages on obj and those kubectl's
// managers own, which gitopsd takes over. Another writer that changes a
// field gitopsd set takes it over, which changes gitopsd's set, and kubectl
// adding a field changes its own: an unchanged hash means nobody touched
// what gitopsd applied. Fields ignored leaves out do not count, so that
// kubectl scaling an ignored replicas is no change; the hash reads only
// managed fields, so an ignored field inside a list whose elements have
// keys (containers by name) still counts, and a drift check tells. Empty
// when gitopsd manages nothing on obj.
func FieldsHash(obj metav1.Object, ignored Ignored) string {
	h := sha256.New()
	ours := false
	for _, f := range obj.GetManagedFields() {
		if f.Subresource != "" || f.FieldsV1 == nil {
			continue
		}
		switch {
		case f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply:
			ours = true
		case slices.Contains(takeOverManagers, f.Manager):
		default:
			continue
		}
		if raw := ignored.without(f.FieldsV1.Raw); raw != nil {
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00", f.Manager, f.Operation, raw)
		}
	}
	if !ours {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// fieldsToTakeOver lists the fields that kubectl's managers own on obj and
// gitopsd does not, and which of those managers own them: applying removes
// them unless Git sets them. Ignored fields are left out. content is obj's,
// to name list elements by index, as drift reports do.
func fieldsToTakeOver(obj metav1.Object, content map[string]any, ignored Ignored) (fields, managers []string) {
	sets := map[string]*fieldpath.Set{}
	ours, theirs := &fieldpath.Set{}, &fieldpath.Set{}
	for _, f := range obj.GetManagedFields() {
		set := &fieldpath.Set{}
		if f.Subresource != "" || f.FieldsV1 == nil || set.FromJSON(bytes.NewReader(f.FieldsV1.Raw)) != nil {
			continue
		}
		switch {
		case f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply:
			ours = ours.Union(set)
		case slices.Contains(takeOverManagers, f.Manager):
			_, set, _ = ignored.split(set, content)
			sets[f.Manager] = set
			theirs = theirs.Union(set)
		}
	}
	for _, m := range takeOverManagers {
		if set, ok := sets[m]; ok && !set.Difference(ours).Empty() {
			managers = append(managers, m)
		}
	}
	theirs.Difference(ours).Leaves().Iterate(func(p fieldpath.Path) {
		fields = append(fields, fieldName(p, content))
	})
	return fields, managers
}

// takeOverManagers are the field managers of kubectl's apply, edit, patch,
// replace and create. gitopsd takes their fields over before it applies, so
// that a field set by hand and absent from Git is removed: Git wins.
var takeOverManagers = []string{
	"kubectl", "kubectl-client-side-apply", "kubectl-edit", "kubectl-patch",
	"kubectl-replace", "kubectl-create", "before-first-apply",
}

// kubectlManagers lists the takeOverManagers that own fields of obj.
func kubectlManagers(obj metav1.Object) []string {
	var managers []string
	for _, f := range obj.GetManagedFields() {
		if slices.Contains(takeOverManagers, f.Manager) && !slices.Contains(managers, f.Manager) {
			managers = append(managers, f.Manager)
		}
	}
	return managers
}

// mayTakeOver reports, from obj's managed fields alone, whether
// takeOverPatch may have anything to do: kubectl's managers own fields that
// are not surely ignored, or gitopsd owns fields that may be. Without
// either, a take-over costs no request.
func mayTakeOver(obj metav1.Object, ignored Ignored) bool {
	for _, f := range obj.GetManagedFields() {
		mine := f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply
		theirs := slices.Contains(takeOverManagers, f.Manager)
		if f.Subresource != "" || f.FieldsV1 == nil || (!mine && !theirs) {
			continue
		}
		if len(ignored) == 0 {
			if theirs {
				return true
			}
			continue
		}
		set := &fieldpath.Set{}
		if set.FromJSON(bytes.NewReader(f.FieldsV1.Raw)) != nil {
			return true // takeOverPatch says what is wrong
		}
		skipped, rest, maybe := ignored.split(set, nil)
		if (theirs && !rest.Empty()) || (mine && (maybe || !skipped.Empty())) {
			return true
		}
	}
	return false
}

// takeOverPatch returns a JSON patch that hands the fields of the
// takeOverManagers to gitopsd, so that applying removes those of them Git
// no longer sets; with resourceVersion, the patch applies only to that
// version. Ignored fields are never gitopsd's: those of kubectl's managers
// stay theirs, and those gitopsd owns (set by Git before the rule came)
// are let go, so that applying leaves their values as they are. content
// is obj's, to tell which fields are ignored. It returns nil when there is
// nothing to hand over or let go.
func takeOverPatch(obj metav1.Object, content map[string]any, ignored Ignored, resourceVersion string) ([]byte, error) {
	var (
		kept   []metav1.ManagedFieldsEntry
		merged = &fieldpath.Set{}
		ours   *metav1.ManagedFieldsEntry
		found  bool
	)
	for _, f := range obj.GetManagedFields() {
		mine := f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply
		theirs := slices.Contains(takeOverManagers, f.Manager)
		if f.Subresource != "" || f.FieldsV1 == nil || (!mine && !theirs) {
			kept = append(kept, f)
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(f.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("read managed fields of %s: %w", f.Manager, err)
		}
		skipped, rest, _ := ignored.split(set, content)
		switch {
		case mine:
			found = found || !skipped.Empty()
		case rest.Empty():
			kept = append(kept, f) // only ignored fields: left to their manager
			continue
		default:
			found = true
			if !skipped.Empty() {
				raw, err := skipped.ToJSON()
				if err != nil {
					return nil, err
				}
				f.FieldsV1 = &metav1.FieldsV1{Raw: raw}
				kept = append(kept, f)
			}
		}
		merged = merged.Union(rest)
		if ours == nil || mine {
			ours = &f
		}
	}
	if !found {
		return nil, nil
	}
	raw, err := merged.ToJSON()
	if err != nil {
		return nil, err
	}
	now := metav1.NewTime(time.Now())
	kept = append(kept, metav1.ManagedFieldsEntry{
		Manager:    FieldManager,
		Operation:  metav1.ManagedFieldsOperationApply,
		APIVersion: ours.APIVersion,
		Time:       &now,
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: raw},
	})
	ops := []map[string]any{{"op": "replace", "path": "/metadata/managedFields", "value": kept}}
	if resourceVersion != "" {
		ops = append([]map[string]any{{"op": "test", "path": "/metadata/resourceVersion", "value": resourceVersion}}, ops...)
	}
	return json.Marshal(ops)
}
