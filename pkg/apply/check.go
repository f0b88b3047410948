package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gitopsd/gitopsd/pkg/render"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Drift is how a live object differs from what Git says.
type Drift struct {
	Key render.Key
	// APIVersion and UID identify the live object, for events about it;
	// empty when it is gone.
	APIVersion string
	UID        types.UID
	// Deleted is set when the object is gone, or no longer carries the
	// installation's label.
	Deleted bool
	// Fields are the paths a server-side apply would change, such as
	// spec.replicas or metadata.labels.app.
	Fields []string
	// Managers are the field managers other than gitopsd that wrote the
	// object since gitopsd did, most recent first.
	Managers []string
	// ChangedAt is when the most recent of them wrote (to the second);
	// zero when unknown, as for a deletion.
	ChangedAt time.Time
}

// CheckDrift confirms drift of the objects keys of req: it reads each live
// object and compares it with a server-side dry run of Git's version, so
// that defaulting and fields gitopsd does not manage never count. Objects
// that did not drift are left out of the result.
func (m *Manager) CheckDrift(ctx context.Context, req Request, opts Options, keys []render.Key) ([]Drift, error) {
	// Prepare only the objects asked about: a check costs the same in a
	// large installation as in a small one.
	named := map[[3]string]bool{}
	for _, k := range keys {
		named[[3]string{k.Group, k.Kind, k.Name}] = true
	}
	subset := &render.ObjectSet{}
	for _, o := range req.Objects.Objects {
		if named[[3]string{o.GroupVersionKind().Group, o.GetKind(), o.GetName()}] {
			subset.Objects = append(subset.Objects, o)
		}
	}
	req.Objects = subset
	items, err := m.prepare(req, opts)
	if err != nil {
		return nil, err
	}
	var drifts []Drift
	for _, it := range items {
		if !slices.Contains(keys, it.key) || it.mapping == nil || it.src.GetAnnotations()[AnnotationReconcile] == disabled {
			continue
		}
		d, err := m.checkItem(ctx, it, req.Installation)
		if err != nil {
			return nil, err
		}
		if d != nil {
			drifts = append(drifts, *d)
		}
	}
	return drifts, nil
}

func (m *Manager) checkItem(ctx context.Context, it *item, installation string) (*Drift, error) {
	live, after, err := m.readAndDryRun(ctx, it, installation)
	if apierrors.IsNotFound(err) {
		return &Drift{Key: it.key, APIVersion: it.src.GetAPIVersion(), Deleted: true}, nil
	}
	if err != nil {
		return nil, err
	}
	managers, changedAt := writersSince(live)
	found := Drift{Key: it.key, APIVersion: live.GetAPIVersion(), UID: live.GetUID(), Managers: managers, ChangedAt: changedAt}
	if after == nil {
		found.Deleted, found.Fields = true, []string{"metadata.labels." + LabelInstallation}
		return &found, nil
	}
	// Ignored fields are left as they are, whatever the dry run did to
	// them: the apply lets go of those gitopsd owns before it applies.
	ignored := it.ignored()
	ignored.keepLive(after.Object, live.Object)
	fields := differences("", comparable(live), comparable(after))
	// A field kubectl took from gitopsd is also one the dry run changes
	// back: name it once.
	extra, extraManagers := fieldsToTakeOver(live, live.Object, ignored)
	for _, f := range extra {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil, nil
	}
	for _, m := range extraManagers {
		if !slices.Contains(found.Managers, m) {
			found.Managers = append(found.Managers, m)
		}
	}
	found.Fields = fields
	return &found, nil
}

// readAndDryRun reads the live object and, while it carries the
// installation's label, a server-side dry run of Git's version over it;
// after is nil when the label is gone. A write in between, such as a
// controller's status update, would pass for drift, so both are made
// again, a few times, until they are of one version.
func (m *Manager) readAndDryRun(ctx context.Context, it *item, installation string) (live, after *unstructured.Unstructured, err error) {
	client := m.resource(it.mapping, it.key.Namespace)
	data, err := json.Marshal(it.object().Object)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 1; ; attempt++ {
		live, err = client.Get(ctx, it.key.Name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", it.key, err)
		}
		if live.GetLabels()[LabelInstallation] != installation {
			return live, nil, nil
		}
		after, err = client.Patch(ctx, it.key.Name, types.ApplyPatchType, data, metav1.PatchOptions{
			FieldManager: FieldManager, Force: ptr.To(true), DryRun: []string{metav1.DryRunAll},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("dry-run %s: %w", it.key, err)
		}
		if after.GetResourceVersion() == live.GetResourceVersion() || attempt == checkAttempts {
			return live, after, nil
		}
	}
}

// checkAttempts bounds the reads of a drift check that another write
// overtook.
const checkAttempts = 3

// differences lists the paths at which a and b differ.
func differences(path string, a, b any) []string {
	if reflect.DeepEqual(a, b) {
		return nil
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		var out []string
		for k := range keys {
			out = append(out, differences(join(path, k), am[k], bm[k])...)
		}
		sort.Strings(out)
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, differences(path+"["+strconv.Itoa(i)+"]", al[i], bl[i])...)
		}
		return out
	}
	return []string{path}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// writersSince lists the managers other than gitopsd that wrote obj at or
// after gitopsd's last apply, most recent first, and when the last wrote.
// Writes through a subresource such as scale carry no time; they count as
// recent.
func writersSince(obj metav1.Object) ([]string, time.Time) {
	var ours time.Time
	for _, f := range obj.GetManagedFields() {
		if f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply && f.Time != nil {
			ours = f.Time.Time
		}
	}
	type write struct {
		manager string
		at      time.Time // zero when not recorded
	}
	var writes []write
	for _, f := range obj.GetManagedFields() {
		if f.Manager == FieldManager || f.Subresource == "status" || (f.Time != nil && f.Time.Time.Before(ours)) {
			continue
		}
		w := write{manager: f.Manager}
		if f.Time != nil {
			w.at = f.Time.Time
		}
		writes = append(writes, w)
	}
	sort.SliceStable(writes, func(i, j int) bool {
		return writes[i].at.After(writes[j].at) || writes[j].at.IsZero() && !writes[i].at.IsZero()
	})
	var managers []string
	var last time.Time
	for _, w := range writes {
		if !slices.Contains(managers, w.manager) {
			managers = append(managers, w.manager)
		}
		if w.at.After(last) {
			last = w.at
		}
	}
	return managers, last
}
