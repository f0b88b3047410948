package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// fetchedRefs is where FetchRef keeps what it fetched in the cache, so that
// later fetches can tell the server which objects we have.
const fetchedRefs = "refs/gitopsd/fetched/"

// FetchRef returns the snapshot of commit, which ref (a full name such as
// refs/pull/7/head) of the followed repository points at or pointed at. It
// never clones another repository: a pull request from a fork is fetched
// from the repository it was opened against. A commit already in the cache
// costs no network; otherwise ref is fetched shallowly into the same cache
// the Poller uses (a round of the Poller waits meanwhile), and, when ref
// has moved on since, the commit by its SHA. An empty commit takes what ref
// points at now. The snapshot's Ref is ref.
func (p *Poller) FetchRef(ctx context.Context, ref, commit string) (Snapshot, error) {
	commit = strings.ToLower(commit)
	name := plumbing.ReferenceName(ref)
	switch {
	case !strings.HasPrefix(ref, "refs/") || name.Validate() != nil:
		return Snapshot{}, fmt.Errorf("fetch %q from %s: not a full ref name such as refs/pull/1/head", ref, p.url)
	case commit != "" && !isFullSHA(commit):
		return Snapshot{}, fmt.Errorf("fetch %s from %s: %q is not a full commit SHA", ref, p.url, commit)
	}
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	snap, err := p.fetchRef(ctx, name, commit)
	var ce *corruptError
	if errors.As(err, &ce) && ctx.Err() == nil {
		if err = p.cache.reset(err); err == nil {
			snap, err = p.fetchRef(ctx, name, commit)
		}
	}
	if err != nil {
		at := ""
		if commit != "" {
			at = " at " + logkey.ShortSHA(commit)
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Snapshot{}, fmt.Errorf("fetch %s%s from %s: timed out after %s: %w", ref, at, p.url, p.opts.Timeout, err)
		}
		return Snapshot{}, fmt.Errorf("fetch %s%s from %s: %w", ref, at, p.url, err)
	}
	return snap, nil
}

func (p *Poller) fetchRef(ctx context.Context, name plumbing.ReferenceName, commit string) (Snapshot, error) {
	unlock, err := p.cache.lock(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	defer unlock()
	if err := p.cache.open(); err != nil {
		return Snapshot{}, err
	}
	local := plumbing.ReferenceName(fetchedRefs + strings.TrimPrefix(name.String(), "refs/"))
	if commit != "" {
		if snap, ok, err := p.heldSnapshot(plumbing.NewHash(commit), local, name); ok || err != nil {
			return snap, err
		}
	}
	if err := p.fetch(ctx, name, local); err != nil {
		if errors.Is(err, git.NoMatchingRefSpecError{}) || strings.Contains(err.Error(), "couldn't find remote ref") {
			return Snapshot{}, errors.New("the repository has no such ref")
		}
		return Snapshot{}, err
	}
	got, err := p.cache.ref(local)
	if err != nil {
		return Snapshot{}, err
	}
	want := got
	if commit != "" {
		want = plumbing.NewHash(commit)
	}
	if want != got {
		// The ref moved on since commit was asked for: servers that allow
		// it (GitHub does) still serve the commit by its SHA.
		if err := p.fetchSpec(ctx, config.RefSpec(want.String()+":"+local.String())); err != nil {
			return Snapshot{}, fmt.Errorf("the ref points at %s now and the server does not serve %s by SHA: %w", logkey.ShortSHA(got.String()), logkey.ShortSHA(want.String()), err)
		}
	}
	snap, ok, err := p.heldSnapshot(want, local, name)
	if err == nil && !ok {
		err = corrupt("fetched %s but commit %s is not in the cache", name, want)
	}
	return snap, err
}

// heldSnapshot is the snapshot of commit when the cache holds it, recorded
// under local.
func (p *Poller) heldSnapshot(commit plumbing.Hash, local, name plumbing.ReferenceName) (Snapshot, bool, error) {
	c, held, err := p.cache.holds(commit)
	if err != nil || !held {
		return Snapshot{}, false, err
	}
	if c != commit {
		return Snapshot{}, false, fmt.Errorf("object %s is not a commit", commit)
	}
	if err := p.cache.setRef(local, c); err != nil {
		return Snapshot{}, false, err
	}
	snap, err := p.cache.snapshot(c, p.url, name.String())
	return snap, err == nil, err
}
