package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Names gitopsd sets or reads on the objects it manages.
const (
	// FieldManager is the server-side apply field manager.
	FieldManager = "gitopsd"
	// LabelInstallation marks every applied object with its installation;
	// prune deletes only objects that still carry it.
	LabelInstallation = "gitopsd.io/installation"
	// AnnotationReconcile set to "disabled" leaves an object as it is.
	AnnotationReconcile = "gitopsd.io/reconcile"
	// AnnotationPrune set to "disabled" keeps an object that left Git.
	AnnotationPrune = "gitopsd.io/prune"
	// AnnotationRecreate set to "true" lets gitopsd delete and recreate an
	// object whose change touches an immutable field.
	AnnotationRecreate = "gitopsd.io/recreate"

	disabled = "disabled"
)

// Inventories loads and saves what each installation owns; inventory.Store
// implements it.
type Inventories interface {
	Load(ctx context.Context, installation string) (*inventory.Inventory, error)
	Save(ctx context.Context, inv *inventory.Inventory) error
}

var _ Inventories = (*inventory.Store)(nil)

// Manager applies object sets to one cluster. It is safe for concurrent use
// by different installations.
type Manager struct {
	dynamic  dynamic.Interface
	metadata metadata.Interface
	// quiet reads metadata without logging the API server's warnings: a
	// look at every kind lists deprecated ones too.
	quiet       metadata.Interface
	discovery   discovery.DiscoveryInterface // uncached, for a look at every kind
	mapper      *restmapper.DeferredDiscoveryRESTMapper
	inventories Inventories
	log         *slog.Logger

	resetMu   sync.Mutex
	lastReset time.Time // discovery is refreshed at most every resetEvery for unknown kinds
}

// resetEvery bounds how often an unknown kind refreshes discovery: a kind
// that stays unknown must not cost a rediscovery on every apply.
const resetEvery = 10 * time.Second

// NewManager returns a Manager for the cluster of cfg. Client-side rate
// limiting is off: the API server's priority and fairness decides.
func NewManager(cfg *rest.Config, inventories Inventories, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gitopsd"
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	quietCfg := rest.CopyConfig(cfg)
	quietCfg.WarningHandler = rest.NoWarnings{}
	quiet, err := metadata.NewForConfig(quietCfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Manager{
		dynamic:     dyn,
		metadata:    meta,
		quiet:       quiet,
		discovery:   disco,
		mapper:      restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
		inventories: inventories,
		log:         log,
	}, nil
}

// mapping returns how to reach objects of gvk, refreshing discovery once
// when the kind is not known yet (a CRD applied since the last look).
func (m *Manager) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := m.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) && m.mayReset() {
		mapping, err = m.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, &UnknownKindError{GVK: gvk}
	}
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", gvk, err)
	}
	return mapping, nil
}

// mayReset refreshes discovery unless it was refreshed within resetEvery.
func (m *Manager) mayReset() bool {
	m.resetMu.Lock()
	defer m.resetMu.Unlock()
	if time.Since(m.lastReset) < resetEvery {
		return false
	}
	m.lastReset = time.Now()
	m.mapper.Reset()
	return true
}

// entryMapping maps an object recorded in an inventory, whose version the
// cluster may no longer serve (an upgrade removed it): the kind at its
// preferred version stands in. Only a kind the cluster does not serve at
// all is unknown.
func (m *Manager) entryMapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := m.mapping(gvk)
	var unknown *UnknownKindError
	if !errors.As(err, &unknown) {
		return mapping, err
	}
	if mapping, err := m.mapper.RESTMapping(gvk.GroupKind()); err == nil {
		return mapping, nil
	}
	return nil, err
}

// Resource returns the API resource that serves gvk.
func (m *Manager) Resource(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
	mapping, err := m.mapping(gvk)
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return mapping.Resource, nil
}

// resource returns the client for mapping in namespace.
func (m *Manager) resource(mapping *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return m.dynamic.Resource(mapping.Resource).Namespace(namespace)
	}
	return m.dynamic.Resource(mapping.Resource)
}
