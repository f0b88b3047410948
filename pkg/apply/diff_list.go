package apply

import (
	"context"

	"github.com/gitopsd/gitopsd/pkg/render"
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
	return listPerKind(ctx, labelled(installation), mappings, concurrency, func(ctx context.Context, mapping *meta.RESTMapping, opts metav1.ListOptions) ([]*unstructured.Unstructured, error) {
		list, err := m.dynamic.Resource(mapping.Resource).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		objs := make([]*unstructured.Unstructured, len(list.Items))
		for i := range list.Items {
			o := &list.Items[i]
			o.SetAPIVersion(mapping.GroupVersionKind.GroupVersion().String())
			o.SetKind(mapping.GroupVersionKind.Kind)
			objs[i] = o
		}
		return objs, nil
	})
}
