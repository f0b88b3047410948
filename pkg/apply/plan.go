package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// item is one desired object on its way to the cluster.
type item struct {
	src     *unstructured.Unstructured // as rendered; shared, never modified
	obj     *unstructured.Unstructured // as applied; built by object() when needed
	prep    *preparation
	gvk     schema.GroupVersionKind
	key     render.Key
	stage   render.Stage
	digest  string
	mapping *meta.RESTMapping // nil while its kind is not served yet
	live    *metav1.PartialObjectMetadata
	// takenFrom is the installation whose label the object carries and
	// which lets it go (see refuseClaimed).
	takenFrom string
	prev      inventory.Entry
	owned     bool // prev is valid
	// namespaceInSet is true when the object's namespace is itself one of
	// the objects, so a dry run before it exists cannot succeed.
	namespaceInSet bool
	change         Change // set once the outcome is known
	entry          inventory.Entry
}

// preparation is what turns a rendered object into the applied one.
type preparation struct {
	installation string
	ignore       []IgnoreRule
}

// object returns the object as applied: a copy of the rendered one,
// labelled with the installation, in its resolved namespace, and
// normalised. Only objects that are sent pay for the copy.
func (it *item) object() *unstructured.Unstructured {
	if it.obj == nil {
		u := it.src.DeepCopy()
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelInstallation] = it.prep.installation
		u.SetLabels(labels)
		u.SetNamespace(it.key.Namespace)
		normalize(u, it.key, it.prep.ignore)
		it.obj = u
	}
	return it.obj
}

// ignored lists the fields of the object that its ignore rules leave out.
func (it *item) ignored() Ignored { return IgnoredFields(it.prep.ignore, it.key) }

func (it *item) decided() bool { return it.change.Action != "" }

func (it *item) fail(err error) {
	it.change = Change{Key: it.key, Version: it.gvk.Version, Action: Failed, Reason: err.Error(), Err: err}
}

func (it *item) skip(reason string) {
	it.change = Change{Key: it.key, Version: it.gvk.Version, Action: Skipped, Reason: reason}
}

// ownedEntry is what the inventory keeps for an object that was not applied
// now: the previous entry, or one without a digest so that it is applied
// next time and pruned if it leaves Git.
func (it *item) ownedEntry() inventory.Entry {
	if it.owned {
		return it.prev
	}
	gvk := it.gvk
	return inventory.Entry{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: it.key.Namespace, Name: it.key.Name}
}

// planned is what an apply or a diff starts from: what the installation
// owned, the objects as they will be applied, and the live metadata.
type planned struct {
	prev  *inventory.Inventory
	items []*item
	live  map[render.Key]*metav1.PartialObjectMetadata
}

// plan loads the inventory, prepares the objects and lists, once per kind,
// the live objects labelled with the installation.
func (m *Manager) plan(ctx context.Context, req Request, opts Options) (*planned, error) {
	prev, err := m.inventories.Load(ctx, req.Installation)
	if err != nil {
		return nil, err
	}
	items, err := m.prepare(req, opts)
	if err != nil {
		return nil, err
	}
	live, err := m.listLive(ctx, req.Installation, kinds(items, prev), opts.Concurrency)
	if err != nil {
		return nil, err
	}
	return &planned{prev: prev, items: items, live: live}, nil
}

// prepare resolves each rendered object's kind, namespace and digest as
// gitopsd applies it; the applied copies are built later, for the objects
// that are sent.
func (m *Manager) prepare(req Request, opts Options) ([]*item, error) {
	crdScopes := crdScopes(req.Objects)
	defaultNS := req.Namespace
	if defaultNS == "" {
		defaultNS = metav1.NamespaceDefault
	}
	prep := &preparation{installation: req.Installation, ignore: opts.Ignore}
	type lookup struct {
		mapping *meta.RESTMapping
		err     error
	}
	mappings := map[schema.GroupVersionKind]lookup{}
	items := make([]*item, 0, len(req.Objects.Objects))
	seen := map[render.Key]bool{}
	for _, o := range req.Objects.Objects {
		it := &item{src: o.Unstructured, prep: prep, gvk: o.GroupVersionKind(), stage: render.StageOf(o.Unstructured)}
		l, ok := mappings[it.gvk]
		if !ok {
			l.mapping, l.err = m.mapping(it.gvk)
			mappings[it.gvk] = l
		}
		namespaced, known := false, true
		var unknown *UnknownKindError
		switch {
		case l.err == nil:
			it.mapping = l.mapping
			namespaced = l.mapping.Scope.Name() == meta.RESTScopeNameNamespace
		case errors.As(l.err, &unknown):
			scope, inSet := crdScopes[it.gvk.GroupKind()]
			namespaced, known = scope == meta.RESTScopeNameNamespace, inSet
		default:
			return nil, l.err
		}
		it.key = render.Key{Group: it.gvk.Group, Kind: it.gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
		switch {
		case namespaced && it.key.Namespace == "":
			it.key.Namespace = defaultNS
		case known && !namespaced:
			it.key.Namespace = ""
		}
		digest, err := appliedDigest(o, it.key, prep)
		if err != nil {
			return nil, fmt.Errorf("digest %s: %w", it.key, err)
		}
		it.digest = digest
		switch {
		case !known:
			it.fail(fmt.Errorf("%s: %w", it.key, l.err))
		case seen[it.key]:
			it.fail(fmt.Errorf("%s is rendered twice once namespaces are set (namespace %q is the default)", it.key, defaultNS))
		}
		seen[it.key] = true
		items = append(items, it)
	}
	for _, it := range items {
		it.namespaceInSet = seen[render.Key{Kind: "Namespace", Name: it.key.Namespace}]
	}
	return items, nil
}

// appliedDigest identifies the object as applied without building it: the
// rendered digest, and everything preparation adds or takes away.
func appliedDigest(o render.Object, key render.Key, prep *preparation) (string, error) {
	d := o.Digest
	if d == "" {
		var err error
		if d, err = render.Digest(o.Unstructured); err != nil {
			return "", err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "applied/v1\x00%s\x00%s\x00%s", d, prep.installation, key.Namespace)
	for _, r := range prep.ignore {
		if r.Matches(key) {
			for _, p := range r.Paths {
				fmt.Fprintf(h, "\x00%s", p)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// crdScopes maps the kinds defined by CustomResourceDefinitions in set to
// their scope, for objects whose CRD is applied in the same run.
func crdScopes(set *render.ObjectSet) map[schema.GroupKind]meta.RESTScopeName {
	scopes := map[schema.GroupKind]meta.RESTScopeName{}
	for _, o := range set.Objects {
		if o.GetKind() != "CustomResourceDefinition" || o.GroupVersionKind().Group != "apiextensions.k8s.io" {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		name := meta.RESTScopeNameRoot
		if scope == "Namespaced" {
			name = meta.RESTScopeNameNamespace
		}
		scopes[schema.GroupKind{Group: group, Kind: kind}] = name
	}
	return scopes
}

// listLive lists, once per kind, the metadata of the live objects labelled
// with the installation: the only reads of a no-op apply.
func (m *Manager) listLive(ctx context.Context, installation string, gvks []schema.GroupVersionKind, concurrency int) (map[render.Key]*metav1.PartialObjectMetadata, error) {
	mappings := map[schema.GroupVersionResource]*meta.RESTMapping{}
	for _, gvk := range gvks {
		mapping, err := m.entryMapping(gvk)
		var unknown *UnknownKindError
		if errors.As(err, &unknown) {
			continue // not served, so no such objects exist
		}
		if err != nil {
			return nil, err
		}
		mappings[mapping.Resource] = mapping
	}
	return listPerKind(ctx, labelled(installation), mappings, concurrency, m.listMetadata)
}

// listMetadata lists the metadata of a kind's objects, for listPerKind.
func (m *Manager) listMetadata(ctx context.Context, mapping *meta.RESTMapping, opts metav1.ListOptions) ([]*metav1.PartialObjectMetadata, error) {
	list, err := m.metadata.Resource(mapping.Resource).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	objs := make([]*metav1.PartialObjectMetadata, len(list.Items))
	for i := range list.Items {
		objs[i] = &list.Items[i]
	}
	return objs, nil
}

// labelled selects the objects labelled with the installation.
func labelled(installation string) string { return LabelInstallation + "=" + installation }

// listPerKind calls list once per mapping, concurrency at a time, for the
// objects the label selector picks, and returns them by key: the metadata
// of a plan, the whole objects of a diff and the claims of other
// installations are read alike.
func listPerKind[T metav1.Object](ctx context.Context, selector string, mappings map[schema.GroupVersionResource]*meta.RESTMapping, concurrency int,
	list func(context.Context, *meta.RESTMapping, metav1.ListOptions) ([]T, error),
) (map[render.Key]T, error) {
	opts := metav1.ListOptions{LabelSelector: selector}
	var mu sync.Mutex
	byKey := map[render.Key]T{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for gvr, mapping := range mappings {
		g.Go(func() error {
			objs, err := list(ctx, mapping, opts)
			if err != nil {
				return fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
			}
			gvk := mapping.GroupVersionKind
			mu.Lock()
			defer mu.Unlock()
			for _, o := range objs {
				byKey[render.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}] = o
			}
			return nil
		})
	}
	return byKey, g.Wait()
}

// kinds lists the distinct kinds of the desired objects and the inventory.
func kinds(items []*item, prev *inventory.Inventory) []schema.GroupVersionKind {
	seen := map[schema.GroupKind]bool{}
	var gvks []schema.GroupVersionKind
	add := func(gvk schema.GroupVersionKind) {
		if !seen[gvk.GroupKind()] {
			seen[gvk.GroupKind()] = true
			gvks = append(gvks, gvk)
		}
	}
	for _, it := range items {
		add(it.gvk)
	}
	for _, e := range prev.Entries {
		add(schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind})
	}
	return gvks
}

// decide marks what need not be sent: objects whose digest was applied
// before and whose gitopsd-managed fields nobody changed since, objects
// opted out of reconciliation, and drifted objects that are only reported or
// held.
func decide(items []*item, prev map[render.Key]inventory.Entry, live map[render.Key]*metav1.PartialObjectMetadata, opts Options) {
	for _, it := range items {
		it.prev, it.owned = prev[it.key]
		it.live = live[it.key]
		if it.decided() {
			continue
		}
		if it.src.GetAnnotations()[AnnotationReconcile] == disabled {
			it.skip("reconcile disabled by annotation " + AnnotationReconcile)
			continue
		}
		sameInGit := it.owned && it.prev.Digest == it.digest && it.prev.Fields != ""
		if !sameInGit {
			continue
		}
		if it.live != nil && it.prev.Fields == FieldsHash(it.live, it.ignored()) {
			it.change = Change{Key: it.key, Version: it.gvk.Version, Action: Unchanged}
			it.entry = it.prev
			continue
		}
		// Changed in the cluster, not in Git: drift.
		if reason, held := opts.Hold[it.key]; held {
			it.skip(reason)
		} else if opts.ReportDrift {
			it.skip("drifted from Git; reported, not corrected (drift: report)")
		}
	}
}
