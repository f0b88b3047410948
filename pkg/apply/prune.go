package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
				c := m.pruneOne(gctx, installation, e, live[e.Key()], opts.DryRun)
				mu.Lock()
				defer mu.Unlock()
				changes = append(changes, c)
				if c.Action == Failed {
					kept = append(kept, e)
				}
				return nil
			})
		}
		_ = g.Wait()
	}
	return changes, kept
}

func (m *Manager) pruneOne(ctx context.Context, installation string, e inventory.Entry, live *metav1.PartialObjectMetadata, dryRun bool) Change {
	c := Change{Key: e.Key(), Version: e.Version, Action: Deleted}
	gvk := schema.GroupVersionKind{Group: e.Group, Version: e.Version, Kind: e.Kind}
	mapping, err := m.entryMapping(gvk)
	var unknown *UnknownKindError
	if errors.As(err, &unknown) {
		c.Action, c.Reason = Skipped, "already gone: its kind is no longer served"
		return c
	}
	if err != nil {
		c.Action, c.Reason, c.Err = Failed, err.Error(), err
		return c
	}
	client := m.metadata.Resource(mapping.Resource).Namespace(e.Namespace)
	if live == nil {
		// Not listed under the label: gone, or relabelled by someone.
		live, err = client.Get(ctx, e.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.Action, c.Reason = Skipped, "already gone"
			return c
		case err != nil:
			c.Action, c.Reason, c.Err = Failed, apiMessage(err), fmt.Errorf("prune %s: %w", c.Key, err)
			return c
		case live.Labels[LabelInstallation] != installation:
			c.Action, c.Reason = Skipped, fmt.Sprintf("no longer labelled %s=%s; left in place", LabelInstallation, installation)
			return c
		}
	}
	if live.Annotations[AnnotationPrune] == disabled {
		c.Action, c.Reason = Skipped, "prune disabled by annotation "+AnnotationPrune+"; left in place"
		return c
	}
	opts := metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: ptr.To(live.UID)},
	}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if err := client.Delete(ctx, e.Name, opts); err != nil && !apierrors.IsNotFound(err) {
		c.Action, c.Reason, c.Err = Failed, apiMessage(err), fmt.Errorf("prune %s: %s", c.Key, apiMessage(err))
	}
	return c
}
