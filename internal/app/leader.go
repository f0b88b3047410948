package app

import (
	"context"

	"github.com/gitopsd/gitopsd/internal/leader"
	"github.com/gitopsd/gitopsd/internal/modules"
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
	elector, err := leader.New(d.client, d.log, opts)
	if err != nil {
		return nil, err
	}
	d.elector = elector
	return elector, nil
}
