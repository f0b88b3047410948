package app

import (
	"context"

	"github.com/gitopsd/gitopsd/internal/leader"
	"github.com/gitopsd/gitopsd/internal/modules"
	"k8s.io/apimachinery/pkg/util/rand"
)

// initLeader builds the leader election; with it off there is nothing to
// run and this replica applies. Two replicas never apply at once: the
// reconciler module depends on this one, so it starts applying only once
// the Lease is held, and the Lease is released only after it has stopped;
// losing the Lease stops the process (see daemon.reconcile).
func (d *daemon) initLeader(context.Context) (modules.Service, error) {
	if !d.flags.leaderElect {
		return nil, nil
	}
	opts := leader.DefaultOptions()
	opts.Namespace, opts.Name, opts.LeaseDuration = d.flags.leaderElectionNS, d.flags.leaseName(), d.flags.leaseDuration
	if d.flags.podName != "" {
		// In a pod (POD_NAME from the Downward API), the Lease names it.
		opts.Identity = d.flags.podName + "_" + rand.String(6)
	}
	elector, err := leader.New(d.client, d.log, opts)
	if err != nil {
		return nil, err
	}
	d.elector = elector
	return elector, nil
}
