// Package leader elects one replica of gitopsd to apply, with a Lease in the
// cluster. An Elector campaigns while Run runs: Started is closed when this
// replica starts leading, Lost when it stops leading before Run was asked to
// end (another replica may be applying already, so whatever this one does
// must stop at once), and Run then returns ErrLost. When Run's context ends,
// a leader releases the Lease before Run returns, so that a standby takes
// over at once instead of after the Lease expires. Run it after (stop it
// after) what must end before another replica may lead: in gitopsd the
// source and reconciler modules depend on the leader module.
//
// A replica with Options.Address publishes it in the Lease with its
// identity (IDENTITY@ADDRESS), as one write with taking the Lease, so the
// holder and where it listens never disagree; LeaderAddress reads it back
// on the other replicas, whose standby webhooks forward to it.
//
//	e, err := leader.New(clientset, logger, opts)
//	go e.Run(ctx)
//	select {
//	case <-e.Started():
//		// apply
//	case <-e.Lost():
//		// abort
//	}
package leader
