package app

import (
	"context"
	"net"

	"github.com/gitopsd/gitopsd/internal/leader"
	"github.com/gitopsd/gitopsd/internal/modules"
	"github.com/gitopsd/gitopsd/pkg/github"
	"k8s.io/apimachinery/pkg/util/rand"
)

// initLeader builds the leader election; with it off there is nothing to
// run and this replica applies. Two replicas never apply at once: the
// source and reconciler modules depend on this one, so they start polling
// and applying only once the Lease is held, and the Lease is released only
// after they have stopped; losing the Lease stops the process (see
// daemon.reconcile). The Lease also tells where the leader listens, so a
// standby's webhook forwards deliveries to it (see package github).
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
	opts.Address = advertiseAddr(d.flags.advertiseAddr, d.flags.httpAddr, d.flags.podIP)
	if opts.Address == "" {
		d.log.Warn("this replica publishes no address in the Lease: while it leads, a standby cannot forward webhooks to it; set --advertise-addr or POD_IP")
	}
	elector, err := leader.New(d.client, d.log, opts)
	if err != nil {
		return nil, err
	}
	d.elector = elector
	return elector, nil
}

var _ github.Leadership = (*leader.Elector)(nil)

// advertiseAddr is where the other replicas reach this one: flag when set;
// else the Pod's IP (POD_IP, from the Downward API) with the port of
// httpAddr; else httpAddr when it names a host; else none.
func advertiseAddr(flag, httpAddr, podIP string) string {
	if flag != "" {
		return flag
	}
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return ""
	}
	if podIP != "" {
		return net.JoinHostPort(podIP, port)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return ""
	}
	return httpAddr
}
