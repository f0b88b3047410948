package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitopsd/gitopsd/internal/modules"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// initLeader makes d.leading close once this replica holds the Lease; with
// leader election off it is closed at once. Two replicas never apply at
// once: losing the Lease aborts the applies under way and stops the
// process, and at shutdown the Lease is released only after the reconciler
// has finished.
func (d *daemon) initLeader(context.Context) (modules.Service, error) {
	leading := make(chan struct{})
	d.leading = leading
	if !d.flags.leaderElect {
		close(leading)
		return nil, nil
	}
	if err := ensureNamespace(d.client, d.flags.leaderElectionNS); err != nil {
		return nil, err
	}
	identity := d.flags.podName + "_" + rand.String(6)
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, d.flags.leaderElectionNS, d.flags.leaseName(),
		d.client.CoreV1(), d.client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: identity})
	if err != nil {
		return nil, err
	}
	lease := d.flags.leaseDuration
	// The elector runs on its own context, cancelled (which releases the
	// Lease) only once the reconciler has stopped.
	electCtx, release := context.WithCancel(context.Background())
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
			OnStoppedLeading: func() {
				if electCtx.Err() != nil {
					return // released at shutdown
				}
				lost = errors.New("lost the leader election Lease")
				if d.reconciler != nil {
					d.reconciler.Abort()
				}
			},
			OnNewLeader: func(id string) {
				if id != identity {
					d.log.Info("standing by", "leader", id)
				}
			},
		},
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return modules.ServiceFunc(func(ctx context.Context) error {
		done := make(chan struct{})
		go func() {
			elector.Run(electCtx) // returns when released or lost
			close(done)
		}()
		select {
		case <-done:
			release()
			return lost
		case <-ctx.Done():
		}
		select {
		case <-d.reconcilerDone:
		case <-time.After(d.flags.shutdownGrace + 5*time.Second):
		}
		release()
		<-done
		return nil
	}), nil
}

// ensureNamespace creates the Lease's namespace on a cluster that has none
// yet; a replica that may not create namespaces relies on it existing.
func ensureNamespace(client kubernetes.Interface, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "gitopsd"})
	if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) {
		return nil
	}
	return fmt.Errorf("create namespace %s for the leader election Lease: %w", name, err)
}
