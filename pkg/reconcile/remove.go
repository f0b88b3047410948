package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	corev1 "k8s.io/api/core/v1"
)

// removeUnwanted stops the workers of installations no longer in
// gitopsd.yaml and removes them, and those removed while the daemon was
// down, from the cluster. Removal waits until every other installation has
// applied commit: an object that moved to another installation (a rename)
// then carries that installation's label, and its old owner's prune leaves
// it alone. It returns when to try again after a failure; 0 when nothing
// failed (an apply of the commit wakes a removal that waits).
func (r *Reconciler) removeUnwanted(ctx context.Context, wanted map[string]bool, commit string) time.Duration {
	r.stopUnwanted(wanted)
	names, err := r.inventories.List(ctx)
	if err != nil {
		r.log.Error("cannot look for removed installations", logkey.Error, err)
		return r.removalFailed()
	}
	var removed []string
	for _, name := range names {
		if !wanted[name] {
			removed = append(removed, name)
		}
	}
	if len(removed) > 0 && !r.allApplied(commit) {
		r.mu.Lock()
		first := r.logged != "wait "+commit
		r.logged = "wait " + commit
		r.mu.Unlock()
		if first {
			r.log.Info("removing installations once the others have applied the commit", logkey.Installations, removed, logkey.Commit, commit)
		}
		return 0
	}
	var errs []error
	for _, name := range removed {
		errs = append(errs, r.remove(ctx, name))
	}
	if errors.Join(errs...) != nil {
		return r.removalFailed()
	}
	r.mu.Lock()
	r.removeFailures = 0
	r.mu.Unlock()
	return 0
}

// removalFailed counts a failed removal and returns the backoff.
func (r *Reconciler) removalFailed() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removeFailures++
	return backoff(r.opts.RetryBase, r.opts.MaxBackoff, r.removeFailures)
}

// allApplied reports whether every installation has applied commit.
func (r *Reconciler) allApplied(commit string) bool {
	r.mu.Lock()
	workers := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		workers = append(workers, w)
	}
	r.mu.Unlock()
	for _, w := range workers {
		if w.snapshotStatus().AppliedCommit != commit {
			return false
		}
	}
	return true
}

// stopUnwanted stops the workers of installations not wanted and waits,
// for at most the shutdown grace, until their last apply has finished.
func (r *Reconciler) stopUnwanted(wanted map[string]bool) {
	r.mu.Lock()
	var stopped []*worker
	for name, w := range r.workers {
		if !wanted[name] {
			w.stop()
			delete(r.workers, name)
			stopped = append(stopped, w)
		}
	}
	r.mu.Unlock()
	for _, w := range stopped {
		select {
		case <-w.exited:
		case <-time.After(r.opts.ShutdownGrace):
		}
		name := w.snapshotStatus().Name
		r.metrics.forget(name)
		if r.drift != nil {
			r.drift.Forget(name)
		}
	}
}

// remove prunes what a removed installation owns, if it pruned, and forgets
// its inventory. Inventories of other repositories are left alone.
func (r *Reconciler) remove(ctx context.Context, name string) error {
	inv, err := r.inventories.Load(ctx, name)
	if err != nil {
		r.log.Error("cannot read the inventory of a removed installation", logkey.Installation, name, logkey.Error, err)
		return err
	}
	if !source.SameIdentity(inv.Source, r.opts.Source) {
		return nil
	}
	if inv.Prune {
		empty, _ := render.NewObjectSet(nil)
		opts := r.opts.Apply
		opts.Prune, opts.AllowEmpty = true, true
		cs, err := r.applier.Apply(ctx, apply.Request{Installation: name, Source: r.opts.Source, Objects: empty}, opts)
		if err == nil {
			err = cs.Err()
		}
		if err == nil && len(cs.Owned) > 0 {
			err = notPruned(cs) // the inventory stays, so the prune is retried
		}
		if err != nil {
			r.events.Event(name, corev1.EventTypeWarning, "RemoveFailed", err.Error())
			r.log.Error("cannot prune a removed installation; retrying later", logkey.Installation, name, logkey.Error, err)
			return err
		}
		msg := fmt.Sprintf("removed from %s: %s", config.FileName, cs.Summary())
		skipped := skippedPrunes(cs)
		if skipped != "" {
			msg += "; not deleted: " + skipped
		}
		r.events.Event(name, corev1.EventTypeNormal, "Removed", msg)
		r.log.Info("removed installation", logkey.Installation, name, logkey.Summary, cs.Summary(), logkey.NotDeleted, skipped)
	} else {
		r.log.Info("forgot removed installation; prune was off, so its objects stay", logkey.Installation, name, logkey.Objects, len(inv.Entries))
	}
	if r.cutovers != nil {
		if err := r.cutovers.Forget(ctx, name); err != nil {
			r.log.Error("cannot delete the cutover state of a removed installation", logkey.Installation, name, logkey.Error, err)
			return err
		}
	}
	if err := r.inventories.Delete(ctx, name); err != nil {
		r.log.Error("cannot delete the inventory of a removed installation", logkey.Installation, name, logkey.Error, err)
		return err
	}
	return nil
}

// skippedPrunes names the objects a removal did not delete, each with the
// reason: left in place (what gitopsd runs on, prune disabled) or already
// gone.
func skippedPrunes(cs *apply.ChangeSet) string {
	const most = 20
	var kept []string
	for _, c := range cs.Changes {
		if c.Action == apply.Skipped {
			kept = append(kept, c.Key.String()+" ("+c.Reason+")")
		}
	}
	if len(kept) > most {
		kept = append(kept[:most], fmt.Sprintf("%d more", len(kept)-most))
	}
	return strings.Join(kept, ", ")
}

// notPruned names the objects a removal kept, such as a Namespace that
// holds another installation's objects, and why.
func notPruned(cs *apply.ChangeSet) error {
	var kept []string
	for _, c := range cs.Changes {
		if c.Action == apply.Skipped && slices.ContainsFunc(cs.Owned, func(e inventory.Entry) bool { return e.Key() == c.Key }) {
			kept = append(kept, c.Key.String()+": "+c.Reason)
		}
	}
	return fmt.Errorf("%d object(s) not pruned yet: %s", len(cs.Owned), strings.Join(kept, "; "))
}
