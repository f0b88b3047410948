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
)

// manager connects the apply engine and its inventory store to the cluster.
func (k *kubeFlags) manager(log *slog.Logger) (*apply.Manager, error) {
	cfg, err := k.config()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return apply.NewManager(cfg, inventory.NewStore(client, inventory.DefaultNamespace), log)
}

// applyRequest is the apply request for one rendered installation. A
// command-line apply claims no ownership: the daemon that owns the
// installation keeps it.
func applyRequest(inst config.Installation, snap source.Snapshot, set *render.ObjectSet) apply.Request {
	return apply.Request{Installation: inst.Name, Namespace: inst.Namespace, Commit: snap.Commit, Objects: set}
}

// applyOptions are the engine options of an installation.
func applyOptions(inst config.Installation) apply.Options {
	return reconcile.ApplyOptions(apply.DefaultOptions(), inst)
}
