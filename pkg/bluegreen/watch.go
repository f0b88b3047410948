package bluegreen

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// Watch watches the coloured Deployments of every namespace and calls
// trigger with the installation of one that loses its availability, so
// that a live colour failing while the old one is kept is switched back
// at once rather than at the next interval. It runs until ctx ends.
func (c *Cutover) Watch(ctx context.Context, trigger func(installation string)) error {
	selector := labelInstallation + "," + LabelColour
	deployments := c.client.AppsV1().Deployments(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return deployments.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			o.LabelSelector = selector
			return deployments.Watch(ctx, o)
		},
	}
	informer := cache.NewSharedIndexInformer(lw, &appsv1.Deployment{}, 0, cache.Indexers{})
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(before, after any) {
			b, ok1 := before.(*appsv1.Deployment)
			a, ok2 := after.(*appsv1.Deployment)
			if !ok1 || !ok2 {
				return
			}
			if _, was := unavailable(b); !was {
				if _, is := unavailable(a); is {
					trigger(a.Labels[labelInstallation])
				}
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watch coloured Deployments: %w", err)
	}
	informer.RunWithContext(ctx)
	return nil
}
