package reconcile

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
)

// Store is the inventory store in the cluster; inventory.Store implements
// it.
type Store interface {
	List(ctx context.Context) ([]string, error)
	Load(ctx context.Context, installation string) (*inventory.Inventory, error)
	Save(ctx context.Context, inv *inventory.Inventory) error
	Delete(ctx context.Context, installation string) error
}

var (
	_ Store             = (*inventory.Store)(nil)
	_ Inventories       = (*WatchedInventories)(nil)
	_ apply.Inventories = (*WatchedInventories)(nil)
)

// WatchedInventories reads inventories only when they may have changed. A
// metadata watch on the inventory ConfigMaps says when one changed; until
// then a loaded inventory is answered from memory, so an idle daemon reads
// none, and the list of installations and the inventories' UIDs come from
// the watch. After a write of ours, or while the watch is not working, the
// next load reads the store.
type WatchedInventories struct {
	store     Store
	namespace string
	informer  cache.SharedIndexInformer

	mu      sync.Mutex
	running bool
	failing bool                       // the watch's last list or watch failed
	gen     map[string]uint64          // changes seen per installation
	cache   map[string]cachedInventory // loaded inventories, valid while gen is unchanged
}

type cachedInventory struct {
	inv *inventory.Inventory
	gen uint64
}

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// NewWatchedInventories reads through store the inventories kept in
// namespace, watched with meta; Run runs the watch.
func NewWatchedInventories(store Store, meta metadata.Interface, namespace string) *WatchedInventories {
	w := &WatchedInventories{store: store, namespace: namespace, gen: map[string]uint64{}, cache: map[string]cachedInventory{}}
	client := meta.Resource(configMaps).Namespace(namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = inventory.LabelInstallation
			list, err := client.List(ctx, o)
			w.result(err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			o.LabelSelector = inventory.LabelInstallation
			watcher, err := client.Watch(ctx, o)
			w.result(err)
			return watcher, err
		},
	}
	w.informer = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, meta), &metav1.PartialObjectMetadata{}, 0, cache.Indexers{})
	// Errors come only from an informer already started; this one is not.
	_ = w.informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) { w.result(err) })
	_ = w.informer.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil
		}
		return obj, nil
	})
	_, _ = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    w.changed,
		UpdateFunc: func(_, obj any) { w.changed(obj) },
		DeleteFunc: w.changed,
	})
	return w
}

// Run watches the inventories until ctx ends.
func (w *WatchedInventories) Run(ctx context.Context) error {
	w.mu.Lock()
	w.running = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()
	w.informer.RunWithContext(ctx)
	return nil
}

// changed is called by the watch for each event of an inventory.
func (w *WatchedInventories) changed(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		w.invalidate(m.Labels[inventory.LabelInstallation])
	}
}

func (w *WatchedInventories) invalidate(installation string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen[installation]++
	delete(w.cache, installation)
}

// result records whether the watch's last list or watch worked; while it
// does not, changes may go unseen and nothing is answered from memory.
func (w *WatchedInventories) result(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failing = err != nil
	if w.failing {
		clear(w.cache)
	}
}

// watching reports whether the watch sees every change now. w.mu is held.
func (w *WatchedInventories) watching() bool {
	return w.running && !w.failing && w.informer.HasSynced()
}

// Load returns installation's inventory, from memory when the watch has
// seen no change since it was read. The caller may modify it.
func (w *WatchedInventories) Load(ctx context.Context, installation string) (*inventory.Inventory, error) {
	w.mu.Lock()
	c, ok := w.cache[installation]
	gen := w.gen[installation]
	if ok && c.gen == gen && w.watching() {
		w.mu.Unlock()
		return clone(c.inv), nil
	}
	w.mu.Unlock()
	inv, err := w.store.Load(ctx, installation)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen[installation] == gen && w.watching() {
		w.cache[installation] = cachedInventory{inv: clone(inv), gen: gen}
	}
	return inv, nil
}

// Save writes inv; the next load reads it back.
func (w *WatchedInventories) Save(ctx context.Context, inv *inventory.Inventory) error {
	defer w.invalidate(inv.Installation)
	return w.store.Save(ctx, inv)
}

// Delete removes installation's inventory.
func (w *WatchedInventories) Delete(ctx context.Context, installation string) error {
	defer w.invalidate(installation)
	return w.store.Delete(ctx, installation)
}

// List returns the installations that have an inventory, from the watch
// when it works.
func (w *WatchedInventories) List(ctx context.Context) ([]string, error) {
	w.mu.Lock()
	watching := w.watching()
	w.mu.Unlock()
	if !watching {
		return w.store.List(ctx)
	}
	var names []string
	for _, obj := range w.informer.GetStore().List() {
		names = append(names, obj.(*metav1.PartialObjectMetadata).Labels[inventory.LabelInstallation])
	}
	sort.Strings(names)
	return names, nil
}

// UID returns the UID of installation's inventory ConfigMap as the watch
// last saw it; empty when it has not seen one.
func (w *WatchedInventories) UID(installation string) types.UID {
	obj, ok, _ := w.informer.GetStore().GetByKey(w.namespace + "/" + inventory.Name(installation))
	if !ok {
		return ""
	}
	return obj.(*metav1.PartialObjectMetadata).UID
}

func clone(inv *inventory.Inventory) *inventory.Inventory {
	c := *inv
	c.Entries = slices.Clone(inv.Entries)
	return &c
}
