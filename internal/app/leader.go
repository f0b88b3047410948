package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gitopsd/gitopsd/internal/modules"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// initLeader makes d.leading close once this replica holds the Lease; with
// leader election off it is closed at once. Losing the Lease stops the
// process, so that two replicas never apply at once.
func (d *daemon) initLeader(context.Context) (modules.Service, error) {
	leading := make(chan struct{})
	d.leading = leading
	if !d.flags.leaderElect {
		close(leading)
		return nil, nil
	}
	host, _ := os.Hostname()
	identity := host + "_" + rand.String(6)
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, d.flags.leaderElectionNS, d.flags.leaseName(),
		d.client.CoreV1(), d.client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: identity})
	if err != nil {
		return nil, err
	}
	lease := d.flags.leaseDuration
	errLost := errors.New("lost the leader election Lease")
	var lost error
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   lease,
		RenewDeadline:   lease * 2 / 3,
		RetryPeriod:     max(lease/5, 100*time.Millisecond),
		ReleaseOnCancel: true,
		Name:            d.flags.leaseName(),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				d.log.Info("leading: this replica applies", "lease", d.flags.leaseName(), "identity", identity)
				close(leading)
			},
			OnStoppedLeading: func() { lost = errLost },
			OnNewLeader: func(id string) {
				if id != identity {
					d.log.Info("standing by", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return modules.ServiceFunc(func(ctx context.Context) error {
		elector.Run(ctx) // returns when ctx ends or the Lease is lost
		if ctx.Err() != nil {
			return nil
		}
		return lost
	}), nil
}
