package app

import (
	"log/slog"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// newManager connects the apply engine and its inventory store to a cluster.
func newManager(cfg *rest.Config, log *slog.Logger) (*apply.Manager, kubernetes.Interface, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	m, err := apply.NewManager(cfg, inventory.NewStore(client, inventory.DefaultNamespace), log)
	return m, client, err
}

// applyRequest is the apply request for one rendered installation.
func applyRequest(inst config.Installation, snap source.Snapshot, set *render.ObjectSet) apply.Request {
	return apply.Request{Installation: inst.Name, Namespace: inst.Namespace, Source: snap.URL, Commit: snap.Commit, Objects: set}
}

// applyOptions are the engine options of an installation.
func applyOptions(inst config.Installation) apply.Options {
	return reconcile.ApplyOptions(apply.DefaultOptions(), inst)
}
