package app

import (
	"io/fs"
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
	return reconcile.ApplyOptions(apply.DefaultOptions(), installation(inst))
}

// installation puts an installation of gitopsd.yaml in the reconciler's
// terms.
func installation(c config.Installation) reconcile.Installation {
	inst := reconcile.Installation{
		Name: c.Name, Path: c.Path, Namespace: c.Namespace, Prune: c.Prune,
		CorrectDrift: c.Drift == config.DriftCorrect,
		Interval:     c.Interval, Timeout: c.Timeout, Windows: c.Windows,
	}
	for _, r := range c.Ignore {
		inst.Ignore = append(inst.Ignore, apply.IgnoreRule{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Paths: r.Paths})
	}
	return inst
}

// fleetLoader reads gitopsd.yaml for the reconciler; a repository without
// one is the installation called name.
func fleetLoader(name string) reconcile.Loader {
	return func(files fs.FS) (reconcile.Fleet, error) {
		cfg, err := config.Load(files, name)
		if err != nil {
			return reconcile.Fleet{}, err
		}
		fleet := reconcile.Fleet{Implicit: cfg.File == ""}
		for _, c := range cfg.Installations {
			fleet.Installations = append(fleet.Installations, installation(c))
		}
		return fleet, nil
	}
}
