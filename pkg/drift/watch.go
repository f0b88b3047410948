package drift

import (
	"context"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// The watch cache keeps of each object only its name, namespace, and, in
// the otherwise unused GenerateName, "<installation>/<fields hash>": no
// maps, so that 10000 objects cost a few megabytes.
const compacted = "\x00"

// summary returns the installation and fields hash of a cached object.
func summary(m *metav1.PartialObjectMetadata) (installation, fields string) {
	if rest, ok := strings.CutPrefix(m.GenerateName, compacted); ok {
		installation, fields, _ = strings.Cut(rest, "/")
		return installation, fields
	}
	return m.Labels[apply.LabelInstallation], apply.FieldsHash(m)
}

// watch is a metadata-only informer on one resource, for the objects of
// every installation.
type watch struct {
	d        *Detector
	gk       schema.GroupKind
	informer cache.SharedIndexInformer
	cancel   context.CancelFunc
}

func newWatch(d *Detector, gvr schema.GroupVersionResource, gk schema.GroupKind) *watch {
	informer := metadatainformer.NewFilteredMetadataInformer(d.meta, gvr, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = apply.LabelInstallation }).Informer()
	_ = informer.SetTransform(compact)
	w := &watch{d: d, gk: gk, informer: informer}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.event(obj, false) },
		UpdateFunc: func(_, obj any) { w.event(obj, false) },
		DeleteFunc: func(obj any) { w.event(obj, true) },
	})
	return w
}

func (w *watch) start(ctx context.Context) {
	if w.cancel != nil {
		return
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.informer.RunWithContext(ctx)
}

func (w *watch) stop() {
	if w.cancel != nil {
		w.cancel()
	}
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
	installation, fields := summary(m)
	w.d.observe(installation, key, fields, gone)
}

// mismatches lists the cached objects of installation whose fields hash
// differs from expected, and the expected objects of this kind not cached.
func (w *watch) mismatches(installation string, expected map[render.Key]string) []render.Key {
	if !w.informer.HasSynced() {
		return nil // the initial list will report every object
	}
	cached := map[render.Key]bool{}
	var out []render.Key
	for _, obj := range w.informer.GetStore().List() {
		m := obj.(*metav1.PartialObjectMetadata)
		owner, fields := summary(m)
		if owner != installation {
			continue
		}
		key := render.Key{Group: w.gk.Group, Kind: w.gk.Kind, Namespace: m.Namespace, Name: m.Name}
		cached[key] = true
		if want, ok := expected[key]; ok && want != fields {
			out = append(out, key)
		}
	}
	for key := range expected {
		if key.Group == w.gk.Group && key.Kind == w.gk.Kind && !cached[key] {
			out = append(out, key)
		}
	}
	return out
}

// compact keeps of an object's metadata only what drift detection needs.
// The informer may pass an object through it twice, so a compacted object
// comes back as it is.
func compact(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	if strings.HasPrefix(m.GenerateName, compacted) {
		return m, nil
	}
	installation, fields := summary(m)
	return &metav1.PartialObjectMetadata{
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion,
			GenerateName: compacted + installation + "/" + fields,
		},
	}, nil
}
