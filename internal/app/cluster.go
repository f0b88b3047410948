package app

import (
	"log/slog"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"k8s.io/client-go/kubernetes"
)

// manager connects the apply engine and its inventory store to the
// cluster, and the cutovers of blue/green installations to their states,
// kept beside the inventories as the daemon keeps them.
func (k *kubeFlags) manager(log *slog.Logger) (*apply.Manager, *bluegreen.Cutover, error) {
	cfg, err := k.config()
	if err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	m, err := apply.NewManager(cfg, inventory.NewStore(client, inventory.DefaultNamespace), log)
	if err != nil {
		return nil, nil, err
	}
	c, err := newCutover(client, log)
	return m, c, err
}

// newCutover is a Cutover without a gate or reporter: plans and a
// command-line apply (see cliApplier.blueGreen) do not ask GitHub.
func newCutover(client kubernetes.Interface, log *slog.Logger) (*bluegreen.Cutover, error) {
	return bluegreen.New(bluegreen.Deps{Client: client, Store: bluegreen.NewStore(client, inventory.DefaultNamespace), Log: log}, bluegreen.DefaultOptions())
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
