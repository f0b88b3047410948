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

// FieldsHash hashes the set of fields gitopsd manages on obj. Another
// writer that changes one of those fields takes it over, which changes the
// set, so an unchanged hash means nobody touched what gitopsd applied.
func FieldsHash(obj metav1.Object) string {
	for _, f := range obj.GetManagedFields() {
		if f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply && f.Subresource == "" && f.FieldsV1 != nil {
			sum := sha256.Sum256(f.FieldsV1.Raw)
			return hex.EncodeToString(sum[:8])
		}
	}
	return ""
}

// takeOverPatch returns a JSON patch that hands the fields of the managers
// listed in takeOver to gitopsd, so that applying removes those of them Git
// no longer sets. It returns nil when no such manager owns a field.
func takeOverPatch(obj metav1.Object, takeOver []string) ([]byte, error) {
	var (
		kept   []metav1.ManagedFieldsEntry
		merged *fieldpath.Set
		ours   *metav1.ManagedFieldsEntry
		found  bool
	)
	for _, f := range obj.GetManagedFields() {
		mine := f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply
		theirs := slices.Contains(takeOver, f.Manager)
		if f.Subresource != "" || f.FieldsV1 == nil || (!mine && !theirs) {
			kept = append(kept, f)
			continue
		}
		found = found || theirs
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(f.FieldsV1.Raw)); err != nil {
			return nil, fmt.Errorf("read managed fields of %s: %w", f.Manager, err)
		}
		if merged == nil {
			merged, ours = set, &f
		} else {
			merged = merged.Union(set)
		}
		if mine {
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
	return json.Marshal([]map[string]any{{"op": "replace", "path": "/metadata/managedFields", "value": kept}})
}
