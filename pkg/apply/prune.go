package apply

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/ptr"
)

// prune deletes the stale objects in reverse stage order. An object is
// deleted only while it still carries the installation's label; one
// annotated gitopsd.io/prune: disabled, or no longer labelled, is left in
// place and forgotten. Entries whose deletion failed, and Namespaces and
// definitions that still hold objects of others (see holdsOthers), are
// returned as kept, to be retried.
func (m *Manager) prune(ctx context.Context, installation string, entries []inventory.Entry, live map[render.Key]*metav1.PartialObjectMetadata, opts Options) (changes []Change, kept []inventory.Entry) {
	var mu sync.Mutex
	stages := slices.Clone(render.Stages)
	slices.Reverse(stages)
	for _, stage := range stages {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opts.Concurrency)
		for _, e := range entries {
			if render.StageOfKind(e.Group, e.Kind) != stage {
				continue
			}
			g.Go(func() error {
				c, keep := m.pruneOne(gctx, installation, e, live[e.Key()], opts)
				mu.Lock()
				defer mu.Unlock()
				changes = append(changes, c)
				if keep {
					kept = append(kept, e)
				}
				return nil
			})
		}
		_ = g.Wait()
	}
	return changes, kept
}

// pruneOne deletes one stale object; keep says to keep its entry and try
// again at the next apply. A protected object is refused before anything
// is asked of the API server.
func (m *Manager) pruneOne(ctx context.Context, installation string, e inventory.Entry, live *metav1.PartialObjectMetadata, opts Options) (c Change, keep bool) {
	c, keep = m.pruneDecision(ctx, installation, e, live, opts)
	return c, keep || c.Action == Failed
}

func (m *Manager) pruneDecision(ctx context.Context, installation string, e inventory.Entry, live *metav1.PartialObjectMetadata, opts Options) (Change, bool) {
	c, keep, client, live := m.pruneCheck(ctx, installation, e, live, opts.Protected)
	if c.Action != Deleted {
		return c, keep
	}
	del := metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: ptr.To(live.UID)},
	}
	if opts.DryRun {
		del.DryRun = []string{metav1.DryRunAll}
	}
	if err := client.Delete(ctx, e.Name, del); err != nil && !apierrors.IsNotFound(err) {
		c.Action, c.Reason, c.Err = Failed, apiMessage(err), fmt.Errorf("prune %s: %w", c.Key, err)
	}
	return c, false
}

// pruneCheck decides, for prune and for Diff's preview of it, whether the
// stale entry e is to be deleted: then c is Deleted, with the client and
// the live object to delete. Otherwise c says why not (Skipped or Failed),
// and keep says to keep the entry and try again at the next apply.
func (m *Manager) pruneCheck(ctx context.Context, installation string, e inventory.Entry, live *metav1.PartialObjectMetadata, protected map[render.Key]string) (c Change, keep bool, client metadata.ResourceInterface, _ *metav1.PartialObjectMetadata) {
	c = Change{Key: e.Key(), Version: e.Version, Action: Deleted}
	if why, ok := protected[c.Key]; ok {
		// Refused before anything is asked of the API server.
		c.Action, c.Reason = Skipped, "never pruned: "+why+"; left in place"
		return c, false, nil, nil
	}
	gvk := schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
	mapping, err := m.entryMapping(gvk)
	var unknown *UnknownKindError
	if errors.As(err, &unknown) {
		c.Action, c.Reason = Skipped, "already gone: its kind is no longer served"
		return c, false, nil, nil
	}
	if err != nil {
		c.Action, c.Reason, c.Err = Failed, err.Error(), err
		return c, false, nil, nil
	}
	client = m.metadata.Resource(mapping.Resource).Namespace(e.Namespace)
	if live == nil {
		// Not listed under the label: gone, or relabelled by someone.
		live, err = client.Get(ctx, e.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.Action, c.Reason = Skipped, "already gone"
			return c, false, nil, nil
		case err != nil:
			c.Action, c.Reason, c.Err = Failed, apiMessage(err), fmt.Errorf("prune %s: %w", c.Key, err)
			return c, false, nil, nil
		case live.Labels[LabelInstallation] != installation:
			c.Action, c.Reason = Skipped, fmt.Sprintf("no longer labelled %s=%s; left in place", LabelInstallation, installation)
			return c, false, nil, nil
		}
	}
	if live.Annotations[AnnotationPrune] == disabled {
		c.Action, c.Reason = Skipped, "prune disabled by annotation "+AnnotationPrune+"; left in place"
		return c, false, nil, nil
	}
	if of, ok := live.Labels[inventory.LabelInstallation]; ok {
		c.Action, c.Reason = Skipped, fmt.Sprintf("never pruned: it is the inventory of installation %s, gitopsd's own record; left in place", of)
		return c, false, nil, nil
	}
	if c, held := m.holdsOthers(ctx, c, installation); held {
		return c, true, nil, nil
	}
	return c, false, client, live
}

// holdsOthers keeps a CustomResourceDefinition or a Namespace whose
// deletion would take objects the installation does not own with it: c
// becomes Skipped with their names (Failed when they cannot be looked for),
// and held says to keep the entry and try again at the next apply.
func (m *Manager) holdsOthers(ctx context.Context, c Change, installation string) (_ Change, held bool) {
	var (
		others string
		err    error
		what   string
	)
	switch {
	case c.Key.Group == "apiextensions.k8s.io" && c.Key.Kind == "CustomResourceDefinition":
		what = "definition"
		if others, err = m.foreignResource(ctx, c.Key.Name, installation); others != "" {
			others += ", which installation " + installation + " does not own"
		}
	case c.Key.Group == "" && c.Key.Kind == "Namespace":
		what = "namespace"
		others, err = m.othersInNamespace(ctx, c.Key.Name, installation)
	default:
		return c, false
	}
	switch {
	case err != nil:
		c.Action, c.Reason, c.Err = Failed, err.Error(), fmt.Errorf("prune %s: %w", c.Key, err)
	case others != "":
		c.Action, c.Reason = Skipped, fmt.Sprintf("still holds %s; deleting the %s would delete them too. Delete or move them first; gitopsd tries again at the next apply", others, what)
	default:
		return c, false
	}
	return c, true
}

// foreignResource names a custom resource of the definition crd that
// installation does not own, or returns "" when there is none.
func (m *Manager) foreignResource(ctx context.Context, crd, installation string) (string, error) {
	def, err := m.dynamic.Resource(crdResource).Get(ctx, crd, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read CustomResourceDefinition %s: %w", crd, err)
	}
	group, _, _ := unstructured.NestedString(def.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(def.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(def.Object, "spec", "versions")
	version := ""
	for _, v := range versions {
		if v, ok := v.(map[string]any); ok && v["served"] == true {
			version, _ = v["name"].(string)
			break
		}
	}
	if version == "" {
		return "", nil
	}
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
	list, err := m.metadata.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: LabelInstallation + "!=" + installation, Limit: 1})
	if err != nil {
		return "", fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	o := list.Items[0]
	return fmt.Sprintf("%s %s", plural, path.Join(o.Namespace, o.Name)), nil
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// maxNamed bounds the objects a reason names.
const maxNamed = 5

// othersInNamespace names the objects in namespace that carry another
// installation's label, such as "ConfigMap shop/web (installation web)",
// or returns "" when there is none. It looks at every kind the cluster
// serves now, so a definition added since the last apply is not missed.
func (m *Manager) othersInNamespace(ctx context.Context, namespace, installation string) (string, error) {
	lists, err := m.discovery.ServerPreferredNamespacedResources()
	if err != nil {
		return "", fmt.Errorf("list the kinds namespace %s may hold: %w", namespace, err)
	}
	selector := LabelInstallation + "," + LabelInstallation + "!=" + installation
	var (
		mu    sync.Mutex
		named []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			g.Go(func() error {
				objs, err := m.quiet.Resource(gv.WithResource(r.Name)).Namespace(namespace).List(gctx, metav1.ListOptions{LabelSelector: selector, Limit: maxNamed})
				if err != nil {
					return fmt.Errorf("list %s in namespace %s: %w", r.Name, namespace, err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, o := range objs.Items {
					named = append(named, fmt.Sprintf("%s %s/%s (installation %s)", r.Kind, namespace, o.Name, o.Labels[LabelInstallation]))
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	slices.Sort(named)
	if len(named) > maxNamed {
		named = append(named[:maxNamed], fmt.Sprintf("%d more", len(named)-maxNamed))
	}
	return strings.Join(named, ", "), nil
}
