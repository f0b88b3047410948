package app

import (
	"context"
	"net"
	"strings"

	"github.com/gitopsd/gitopsd/internal/leader"
	"github.com/gitopsd/gitopsd/internal/modules"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
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

// protected are the objects gitopsd runs on, which no prune may delete
// whatever gitopsd.yaml says, even when the installation holding them (its
// own, see examples/repo/platform/gitopsd) is removed: the namespace it keeps its
// inventories in, the one it runs in, and its leader election Lease with
// its namespace. Deleting a namespace deletes what is in it.
func (f *runFlags) protected() map[render.Key]string {
	why := map[string][]string{inventory.DefaultNamespace: {"gitopsd keeps its inventories in it"}}
	if ns := f.podNamespace; ns != "" {
		why[ns] = append(why[ns], "gitopsd runs in it")
	}
	p := map[render.Key]string{}
	if f.leaderElect {
		ns := f.leaderElectionNS
		why[ns] = append(why[ns], "gitopsd's leader election Lease is in it")
		p[render.Key{Group: "coordination.k8s.io", Kind: "Lease", Namespace: ns, Name: f.leaseName()}] = "it is gitopsd's leader election Lease"
	}
	for ns, reasons := range why {
		p[render.Key{Kind: "Namespace", Name: ns}] = strings.Join(reasons, ", ")
	}
	return p
}

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
