package apply

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"github.com/pmezard/go-difflib/difflib"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// ObjectDiff is what applying would do to one object.
type ObjectDiff struct {
	Key render.Key
	// Action is Created, Configured, Deleted or Failed; or Skipped for an
	// object that left Git and that prune would keep, such as a Namespace
	// holding objects of another installation.
	Action Action
	// Diff is a unified diff from the live object to the object after a
	// server-side dry run; Secret values are masked.
	Diff string
	// Reason explains a Failed or Skipped diff.
	Reason string
	// SecretKeys says, for a Secret, which keys of its data the change
	// adds, changes or removes, and nothing of their values.
	SecretKeys []SecretKey
}

// SecretKey is a change to one key of a Secret's data.
type SecretKey struct {
	Key    string
	Change KeyChange
}

// KeyChange is what happens to a key of a Secret.
type KeyChange string

const (
	KeyAdded   KeyChange = "added"
	KeyChanged KeyChange = "changed"
	KeyRemoved KeyChange = "removed"
)

// Diff compares req with the cluster through server-side dry runs and
// returns the objects that applying would create, change or (with
// opts.Prune) delete, or keep though they left Git. Unlike Apply it
// dry-runs every object: it is for people, not for the reconcile loop.
// Like Apply, it refuses an installation that another source owns with an
// *OwnershipError, and keeps what opts.Keep lists.
func (m *Manager) Diff(ctx context.Context, req Request, opts Options) ([]ObjectDiff, error) {
	opts = opts.withDefaults()
	req.Source = source.NormalizeIdentity(req.Source)
	p, err := m.plan(ctx, req, opts)
	if err != nil {
		return nil, err
	}
	if err := ownedBy(req, p.prev); err != nil {
		return nil, err
	}
	prev, items, live := p.prev, p.items, p.live
	if err := m.refuseClaimed(ctx, req, items, live, opts.Concurrency); err != nil {
		return nil, err
	}
	listed, err := m.listLabelled(ctx, req.Installation, items, live, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		diffs []ObjectDiff
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, it := range items {
		g.Go(func() error {
			d, err := m.diffItem(gctx, it, listed[it.key])
			if err != nil || d == nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			diffs = append(diffs, *d)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sortDiffs(diffs, items)
	if opts.Prune {
		kept, gone := keepListed(stale(prev, items), opts.Keep)
		for _, e := range kept {
			diffs = append(diffs, ObjectDiff{Key: e.Key(), Action: Skipped, Reason: opts.Keep[e.Key()]})
		}
		pruned, err := m.prunePreview(ctx, req.Installation, gone, live, opts)
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, pruned...)
	}
	return diffs, nil
}

// prunePreview says what prune would do with the stale entries, deciding
// as prune does (pruneCheck), in their order: Deleted, or Skipped with the
// reason when prune would keep the object and try again, as it keeps a
// Namespace that holds objects of another installation. Objects prune
// would leave in place and forget are left out, as they change nothing.
func (m *Manager) prunePreview(ctx context.Context, installation string, entries []inventory.Entry, live map[render.Key]*metav1.PartialObjectMetadata, opts Options) ([]ObjectDiff, error) {
	diffs := make([]*ObjectDiff, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, e := range entries {
		g.Go(func() error {
			c, keep, _, _ := m.pruneCheck(gctx, installation, e, live[e.Key()], opts.Protected)
			switch {
			case c.Action == Failed:
				return c.Err
			case c.Action == Deleted || keep:
				diffs[i] = &ObjectDiff{Key: c.Key, Action: c.Action, Reason: c.Reason}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []ObjectDiff
	for _, d := range diffs {
		if d != nil {
			out = append(out, *d)
		}
	}
	return out, nil
}

// diffItem dry-runs one object, live as listed when it carries the
// installation's label (else read); nil means no change.
func (m *Manager) diffItem(ctx context.Context, it *item, listed *unstructured.Unstructured) (*ObjectDiff, error) {
	if it.decided() && it.change.Action == Failed {
		return &ObjectDiff{Key: it.key, Action: Failed, Reason: it.change.Reason}, nil
	}
	if it.src.GetAnnotations()[AnnotationReconcile] == disabled {
		return nil, nil
	}
	if it.mapping == nil {
		// Its CustomResourceDefinition is not in the cluster yet.
		return &ObjectDiff{Key: it.key, Action: Created, Diff: unified(nil, it.object(), it.key), SecretKeys: secretKeys(it.key, nil, it.object())}, nil
	}
	client := m.resource(it.mapping, it.key.Namespace)
	current := listed
	if current == nil {
		var err error
		current, err = client.Get(ctx, it.key.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			current = nil
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", it.key, err)
		}
	}
	data, err := json.Marshal(it.object().Object)
	if err != nil {
		return nil, err
	}
	after, err := client.Patch(ctx, it.key.Name, types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager: FieldManager, Force: ptr.To(true), DryRun: []string{metav1.DryRunAll},
	})
	if namespaceMissing(err, it.key.Namespace) && it.namespaceInSet {
		return &ObjectDiff{Key: it.key, Action: Created, Diff: unified(nil, it.object(), it.key), SecretKeys: secretKeys(it.key, nil, it.object())}, nil
	}
	if immutable(err) && it.src.GetAnnotations()[AnnotationRecreate] == "true" && current != nil {
		// Apply would delete and create it again: show Git's object.
		d := "# the change touches an immutable field: deleted and created again (" + AnnotationRecreate + ")\n" + unified(current, it.object(), it.key)
		return &ObjectDiff{Key: it.key, Action: Configured, Diff: d, SecretKeys: secretKeys(it.key, current, it.object())}, nil
	}
	if err != nil {
		reason := apiMessage(err)
		if immutable(err) {
			reason = (&ImmutableError{Key: it.key, Err: fmt.Errorf("%s", reason)}).Error()
		}
		return &ObjectDiff{Key: it.key, Action: Failed, Reason: reason}, nil
	}
	if current == nil {
		return &ObjectDiff{Key: it.key, Action: Created, Diff: unified(nil, after, it.key), SecretKeys: secretKeys(it.key, nil, after)}, nil
	}
	// Apply leaves ignored fields as they are (see takeOverPatch), whatever
	// the dry run did to them.
	ignored := it.ignored()
	ignored.keepLive(after.Object, current.Object)
	d := unified(current, after, it.key)
	// The dry run cannot show the take-over of kubectl's fields; say it.
	if fields, managers := fieldsToTakeOver(current, current.Object, ignored); len(fields) > 0 {
		d = fmt.Sprintf("# set by %s and not in Git, so removed: %s\n", strings.Join(managers, ", "), strings.Join(fields, ", ")) + d
	}
	if d == "" {
		return nil, nil
	}
	return &ObjectDiff{Key: it.key, Action: Configured, Diff: d, SecretKeys: secretKeys(it.key, current, after)}, nil
}

// unified diffs two versions of an object, leaving out what the server
// maintains and masking Secret values; "" when they are the same.
func unified(before, after *unstructured.Unstructured, key render.Key) string {
	b, a := comparable(before), comparable(after)
	if key.Group == "" && key.Kind == "Secret" {
		maskSecret(b, a)
	}
	by, ay := toYAML(b), toYAML(a)
	if by == ay {
		return ""
	}
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(by), B: lines(ay),
		FromFile: "live/" + key.String(), ToFile: "git/" + key.String(), Context: 3,
	})
	return d
}

// comparable copies the parts of u a user wrote: no status, no bookkeeping,
// and not kubectl's copy of the last object it applied, which for a Secret
// holds its values.
func comparable(u *unstructured.Unstructured) map[string]any {
	if u == nil {
		return nil
	}
	c := u.DeepCopy().Object
	delete(c, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
		unstructured.RemoveNestedField(c, "metadata", f)
	}
	unstructured.RemoveNestedField(c, "metadata", "annotations", lastApplied)
	if annotations, _, _ := unstructured.NestedMap(c, "metadata", "annotations"); len(annotations) == 0 {
		unstructured.RemoveNestedField(c, "metadata", "annotations")
	}
	return c
}

// lastApplied is the annotation in which kubectl apply keeps the whole
// object it applied.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// maskSecret replaces Secret values: "***" when a value stays the same,
// "*** (changed)" on the side where it differs.
func maskSecret(before, after map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		b, _, _ := unstructured.NestedMap(before, field)
		a, _, _ := unstructured.NestedMap(after, field)
		mask := func(m map[string]any, other map[string]any) map[string]any {
			out := make(map[string]any, len(m))
			for k, v := range m {
				out[k] = "***"
				if other != nil && other[k] != v {
					out[k] = "*** (changed)"
				}
			}
			return out
		}
		if b != nil {
			before[field] = mask(b, nil)
		}
		if a != nil {
			after[field] = mask(a, b)
		}
	}
}

// secretKeys compares the keys of a Secret's data (and stringData, which
// the server folds into data) before and after; nil for other kinds.
func secretKeys(key render.Key, before, after *unstructured.Unstructured) []SecretKey {
	if key.Group != "" || key.Kind != "Secret" {
		return nil
	}
	values := func(u *unstructured.Unstructured) map[string]any {
		out := map[string]any{}
		if u == nil {
			return out
		}
		for _, field := range []string{"data", "stringData"} {
			m, _, _ := unstructured.NestedMap(u.Object, field)
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	b, a := values(before), values(after)
	var keys []SecretKey
	for k, v := range a {
		old, ok := b[k]
		switch {
		case !ok:
			keys = append(keys, SecretKey{Key: k, Change: KeyAdded})
		case !reflect.DeepEqual(old, v):
			keys = append(keys, SecretKey{Key: k, Change: KeyChanged})
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, SecretKey{Key: k, Change: KeyRemoved})
		}
	}
	slices.SortFunc(keys, func(x, y SecretKey) int { return cmp.Compare(x.Key, y.Key) })
	return keys
}

// lines splits s into lines that keep their newline; none for "".
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(s, "\n"))
}

func toYAML(obj map[string]any) string {
	if obj == nil {
		return ""
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// sortDiffs orders diffs as the objects apply, prunes last.
func sortDiffs(diffs []ObjectDiff, items []*item) {
	order := make(map[render.Key]int, len(items))
	for i, it := range items {
		order[it.key] = i
	}
	rank := func(d ObjectDiff) int {
		if i, ok := order[d.Key]; ok {
			return i
		}
		return len(items)
	}
	slices.SortStableFunc(diffs, func(a, b ObjectDiff) int { return cmp.Compare(rank(a), rank(b)) })
}
