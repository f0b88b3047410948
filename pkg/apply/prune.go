package apply

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// prune deletes the stale objects in reverse stage order. An object is
// deleted only while it still carries the installation's label; one
// annotated gitopsd.io/prune: disabled, or no longer labelled, is left in
// place and forgotten. Entries whose deletion failed are returned as kept,
// to be retried.
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
				c, keep := m.pruneOne(gctx, installation, e, live[e.Key()], opts.DryRun)
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
// again at the next apply.
func (m *Manager) pruneOne(ctx context.Context, installation string, e inventory.Entry, live *metav1.PartialObjectMetadata, dryRun bool) (c Change, keep bool) {
	c, keep = m.pruneDecision(ctx, installation, e, live, dryRun)
	return c, keep || c.Action == Failed
}

func (m *Manager) pruneDecision(ctx context.Context, installation string, e inventory.Entry, live *metav1.PartialObjectMetadata, dryRun bool) (Change, bool) {
	c := Change{Key: e.Key(), Version: e.Version, Action: Deleted}
	gvk := schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
	mapping, err := m.entryMapping(gvk)
	var unknown *UnknownKindError
	if errors.As(err, &unknown) {
		c.Action, c.Reason = Skipped, "already gone: its kind is no longer served"
		return c, false
	}
	if err != nil {
		c.Action, c.Reason, c.Err = Failed, err.Error(), err
		return c, false
	}
	client := m.metadata.Resource(mapping.Resource).Namespace(e.Namespace)
	if live == nil {
		// Not listed under the label: gone, or relabelled by someone.
		live, err = client.Get(ctx, e.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.Action, c.Reason = Skipped, "already gone"
			return c, false
		case err != nil:
			c.Action, c.Reason, c.Err = Failed, apiMessage(err), fmt.Errorf("prune %s: %w", c.Key, err)
			return c, false
		case live.Labels[LabelInstallation] != installation:
			c.Action, c.Reason = Skipped, fmt.Sprintf("no longer labelled %s=%s; left in place", LabelInstallation, installation)
			return c, false
		}
	}
	if live.Annotations[AnnotationPrune] == disabled {
		c.Action, c.Reason = Skipped, "prune disabled by annotation "+AnnotationPrune+"; left in place"
		return c, false
	}
	if e.Group == "apiextensions.k8s.io" && e.Kind == "CustomResourceDefinition" {
		if other, err := m.foreignResource(ctx, e.Name, installation); err != nil || other != "" {
			c.Action, c.Reason = Skipped, fmt.Sprintf("still holds %s, which installation %s does not own; deleting the definition would delete it too. Delete those resources first; gitopsd tries again at the next apply", other, installation)
			if err != nil {
				c.Action, c.Reason, c.Err = Failed, err.Error(), err
			}
			return c, true
		}
	}
	opts := metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: ptr.To(live.UID)},
	}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if err := client.Delete(ctx, e.Name, opts); err != nil && !apierrors.IsNotFound(err) {
		c.Action, c.Reason, c.Err = Failed, apiMessage(err), fmt.Errorf("prune %s: %w", c.Key, err)
	}
	return c, false
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
