package apply

import (
	"context"
	"fmt"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// listLabelled reads, with one list per kind, the whole live objects
// labelled with the installation that items are about to be diffed with:
// a diff of many objects then costs a list per kind and a dry run per
// object, not a read per object too. Only kinds with such an object
// (live, from the plan's metadata lists) are listed; the others' objects
// are read one by one.
func (m *Manager) listLabelled(ctx context.Context, installation string, items []*item, live map[render.Key]*metav1.PartialObjectMetadata, concurrency int) (map[render.Key]*unstructured.Unstructured, error) {
	mappings := map[schema.GroupVersionResource]*meta.RESTMapping{}
	for _, it := range items {
		if it.mapping != nil && live[it.key] != nil {
			mappings[it.mapping.Resource] = it.mapping
		}
	}
	var mu sync.Mutex
	listed := map[render.Key]*unstructured.Unstructured{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for gvr, mapping := range mappings {
		g.Go(func() error {
			list, err := m.dynamic.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: LabelInstallation + "=" + installation})
			if err != nil {
				return fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range list.Items {
				o := &list.Items[i]
				o.SetAPIVersion(mapping.GroupVersionKind.GroupVersion().String())
				o.SetKind(mapping.GroupVersionKind.Kind)
				listed[render.Key{Group: mapping.GroupVersionKind.Group, Kind: mapping.GroupVersionKind.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}] = o
			}
			return nil
		})
	}
	return listed, g.Wait()
}
