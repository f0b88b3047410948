package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// pinnedRef holds a pinned commit in the cache, so later fetches can
// advertise it to the server as something we have.
const pinnedRef = plumbing.ReferenceName("refs/gitopsd/pinned")

// Poll does one round and returns the current snapshot. It lists the remote
// refs first and fetches (shallowly, the one ref) only when the commit is
// not already held; a pinned commit already held costs no network at all.
// On failure it returns a *Error, and Latest keeps the last good snapshot.
func (p *Poller) Poll(ctx context.Context) (Snapshot, error) {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()

	start := time.Now()
	p.recordStart(start)
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	snap, err := p.poll(ctx)
	var ce *corruptError
	if errors.As(err, &ce) && ctx.Err() == nil {
		// A broken cache is ours to fix: start it again and fetch afresh.
		if err = p.cache.reset(err); err == nil {
			snap, err = p.poll(ctx)
		}
	}
	if err != nil {
		err = p.classify(ctx, err)
		p.recordFailure(err, start, time.Now())
		return Snapshot{}, err
	}
	p.recordSuccess(snap, time.Now())
	return snap, nil
}

func (p *Poller) poll(ctx context.Context) (Snapshot, error) {
	if p.ref.Kind == Commit {
		return p.pollCommit(ctx)
	}
	want, err := p.lsRemote(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	// The remote has not moved: this round cost one round trip.
	if s, ok := p.current(want.commit.String()); ok {
		p.metrics.observeLsRemote(p.url, p.opts.Ref, "unchanged")
		return s, nil
	}
	p.metrics.observeLsRemote(p.url, p.opts.Ref, "changed")

	unlock, err := p.cache.lock(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()
	if err := p.cache.open(); err != nil {
		return Snapshot{}, err
	}
	commit, held, err := p.cache.holds(want.object)
	if err != nil {
		return Snapshot{}, err
	}
	if held {
		// Known from an earlier run, or a force-push back to an older commit.
		if err := p.cache.setRef(p.ref.FullName(), want.object); err != nil {
			return Snapshot{}, err
		}
	} else {
		if err := p.fetch(ctx, p.ref.FullName(), p.ref.FullName()); err != nil {
			return Snapshot{}, err
		}
		// The ref may have moved again between listing and fetching: take
		// what was fetched, which is newer.
		got, err := p.cache.ref(p.ref.FullName())
		if err != nil {
			return Snapshot{}, err
		}
		if commit, held, err = p.cache.holds(got); err != nil {
			return Snapshot{}, err
		} else if !held {
			return Snapshot{}, corrupt("fetched %s but commit %s is not in the cache", p.ref.FullName(), got)
		}
	}
	return p.cache.snapshot(commit, p.url, p.opts.Ref)
}

// pollCommit serves a pinned commit: from memory or the cache when held,
// without reading credentials or touching the network, else by fetching it
// by SHA.
func (p *Poller) pollCommit(ctx context.Context) (Snapshot, error) {
	if s, ok := p.current(p.ref.Name); ok {
		return s, nil
	}
	unlock, err := p.cache.lock(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()
	if err := p.cache.open(); err != nil {
		return Snapshot{}, err
	}
	want := plumbing.NewHash(p.ref.Name)
	commit, held, err := p.cache.holds(want)
	if err != nil {
		return Snapshot{}, err
	}
	if !held {
		if err := p.fetchCommit(ctx, want); err != nil {
			return Snapshot{}, err
		}
		if commit, held, err = p.cache.holds(want); err != nil {
			return Snapshot{}, err
		} else if !held {
			return Snapshot{}, &Error{Reason: ReasonRefNotFound, URL: p.url, Ref: p.ref}
		}
	}
	if commit != want {
		return Snapshot{}, fmt.Errorf("pinned object %s is not a commit", want)
	}
	if err := p.cache.setRef(pinnedRef, want); err != nil {
		return Snapshot{}, err
	}
	return p.cache.snapshot(commit, p.url, p.opts.Ref)
}

// classify turns any error of a round into a *Error with a reason.
func (p *Poller) classify(ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	reason := classify(err)
	var (
		corruptErr *corruptError
		cacheErr   *cacheError
	)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		reason = ReasonTimeout
	case errors.As(err, &corruptErr), errors.As(err, &cacheErr):
		reason = ReasonCache
	}
	return &Error{
		Reason:        reason,
		URL:           p.url,
		Ref:           p.ref,
		Authenticated: !p.opts.Auth.isZero(),
		Timeout:       p.opts.Timeout,
		Err:           err,
	}
}
