package drift

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// The watch cache keeps of each object only its name, namespace, and, in
// the otherwise unused GenerateName, "<installation>/<fields hash>": no
// maps, so that 10000 objects cost a few megabytes.
const compacted = "\x00"

// summary returns the installation and fields hash of a cached object.
func (w *watch) summary(m *metav1.PartialObjectMetadata) (installation, fields string) {
	if rest, ok := strings.CutPrefix(m.GenerateName, compacted); ok {
		installation, fields, _ = strings.Cut(rest, "/")
		return installation, fields
	}
	installation = m.Labels[apply.LabelInstallation]
	key := render.Key{Group: w.gk.Group, Kind: w.gk.Kind, Namespace: m.Namespace, Name: m.Name}
	return installation, apply.FieldsHash(m, apply.IgnoredFields(w.d.ignoreRules(installation), key))
}

// watch is a metadata-only informer on one resource, for the objects of
// every installation.
type watch struct {
	d        *Detector
	gvr      schema.GroupVersionResource
	gk       schema.GroupKind
	informer cache.SharedIndexInformer
	cancel   context.CancelFunc

	mu    sync.Mutex
	err   error     // the last list or watch failure, until one succeeds
	since time.Time // when the failures began
}

func newWatch(d *Detector, gvr schema.GroupVersionResource, gk schema.GroupKind) (*watch, error) {
	w := &watch{d: d, gvr: gvr, gk: gk}
	client := d.meta.Resource(gvr).Namespace(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = apply.LabelInstallation
			list, err := client.List(ctx, o)
			w.result(err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			o.LabelSelector = apply.LabelInstallation
			watcher, err := client.Watch(ctx, o)
			w.result(err)
			return watcher, err
		},
	}
	w.informer = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, d.meta), &metav1.PartialObjectMetadata{}, 0, cache.Indexers{})
	if err := w.informer.SetTransform(w.compact); err != nil {
		return nil, err
	}
	if err := w.informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) { w.result(err) }); err != nil {
		return nil, err
	}
	_, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.event(obj, false) },
		UpdateFunc: func(_, obj any) { w.event(obj, false) },
		DeleteFunc: func(obj any) { w.event(obj, true) },
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *watch) start(ctx context.Context) {
	if w.cancel != nil {
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.informer.RunWithContext(ctx)
	go w.recheckWhenListed(ctx)
}

// recheckWhenListed compares the installations that own the kind once the
// initial list is in: an object deleted between their apply and that list
// sends no event, and would go unnoticed until the next apply.
func (w *watch) recheckWhenListed(ctx context.Context) {
	if cache.WaitForCacheSync(ctx.Done(), w.informer.HasSynced) {
		w.d.recheckKind(w.gvr)
	}
}

func (w *watch) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

// result records the outcome of a list or watch request: a failure starts
// or continues an outage, a success ends it. Stopping is not a failure.
func (w *watch) result(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err == nil:
		w.err = nil
	case w.err == nil:
		w.err, w.since = err, w.d.opts.Now()
		w.d.log.Warn("drift watch failing", logkey.Resource, w.gvr.GroupResource().String(), logkey.Error, err)
	default:
		w.err = err
	}
}

// failure returns the error the watch is failing with, and since when; nil
// while it works.
func (w *watch) failure() (error, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err, w.since
}

// event passes an object change to the detector. A delete is also what the
// watch sends when the installation label is removed.
func (w *watch) event(obj any, gone bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	key := render.Key{Group: w.gk.Group, Kind: w.gk.Kind, Namespace: m.Namespace, Name: m.Name}
	installation, fields := w.summary(m)
	w.d.observe(installation, key, fields, gone)
}

// compare sorts the expected objects of installation of this kind into
// those the cache holds as expected and the suspects: cached with another
// fields hash, or not cached. Before the initial list it says nothing; the
// list reports every object.
func (w *watch) compare(installation string, expected map[render.Key]string) (matching, suspects []render.Key) {
	if !w.informer.HasSynced() {
		return nil, nil
	}
	cached := map[render.Key]bool{}
	for _, obj := range w.informer.GetStore().List() {
		m := obj.(*metav1.PartialObjectMetadata)
		owner, fields := w.summary(m)
		if owner != installation {
			continue
		}
		key := render.Key{Group: w.gk.Group, Kind: w.gk.Kind, Namespace: m.Namespace, Name: m.Name}
		want, ok := expected[key]
		if !ok {
			continue
		}
		cached[key] = true
		if want == fields {
			matching = append(matching, key)
		} else {
			suspects = append(suspects, key)
		}
	}
	for key := range expected {
		if key.Group == w.gk.Group && key.Kind == w.gk.Kind && !cached[key] {
			suspects = append(suspects, key)
		}
	}
	return matching, suspects
}

// compact keeps of an object's metadata only what drift detection needs.
// The informer may pass an object through it twice, so a compacted object
// comes back as it is.
func (w *watch) compact(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	if strings.HasPrefix(m.GenerateName, compacted) {
		return m, nil
	}
	installation, fields := w.summary(m)
	return &metav1.PartialObjectMetadata{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion,
			GenerateName: compacted + installation + "/" + fields,
		},
	}, nil
}
