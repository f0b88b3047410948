package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// wanted is what the remote's ref points at: the object it names (a commit,
// or an annotated tag) and the commit that is, peeled.
type wanted struct {
	object plumbing.Hash
	commit plumbing.Hash
}

// lsRemote lists the remote refs (one round trip) and finds the followed one.
func (p *Poller) lsRemote(ctx context.Context) (wanted, error) {
	refs, err := p.listRefs(ctx)
	if err != nil {
		p.metrics.observeLsRemote(p.url, p.opts.Ref, "error")
		return wanted{}, err
	}
	byName := make(map[plumbing.ReferenceName]plumbing.Hash, len(refs))
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			byName[r.Name()] = r.Hash()
		}
	}
	name := p.ref.FullName()
	h, ok := byName[name]
	if !ok {
		p.metrics.observeLsRemote(p.url, p.opts.Ref, "error")
		return wanted{}, &Error{Reason: ReasonRefNotFound, URL: p.url, Ref: p.ref, Hint: p.notFoundHint(byName)}
	}
	w := wanted{object: h, commit: h}
	// Annotated tags are advertised with their peeled commit as NAME^{}.
	if peeled, ok := byName[name+"^{}"]; ok {
		w.commit = peeled
	}
	return w, nil
}

func (p *Poller) listRefs(ctx context.Context) ([]*plumbing.Reference, error) {
	auth, err := p.authMethod()
	if err != nil {
		return nil, err
	}
	r := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{p.address}})
	return r.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
}

// authMethod reads the credentials now, so a rotated secret is used at the
// next round; only rounds that talk to the remote read them.
func (p *Poller) authMethod() (transport.AuthMethod, error) {
	auth, err := p.opts.Auth.Method(p.address)
	if err != nil {
		return nil, &Error{Reason: ReasonConfig, URL: p.url, Ref: p.ref, Err: err}
	}
	return auth, nil
}

// notFoundHint points at the likely mistake: the other kind of ref of the
// same name, or an empty repository.
func (p *Poller) notFoundHint(refs map[plumbing.ReferenceName]plumbing.Hash) string {
	if len(refs) == 0 {
		return "the repository has no branches or tags yet"
	}
	switch p.ref.Kind {
	case Branch:
		if _, ok := refs[plumbing.NewTagReferenceName(p.ref.Name)]; ok {
			return fmt.Sprintf("a tag of that name exists; to follow it set the ref to %q", "refs/tags/"+p.ref.Name)
		}
	case Tag:
		if _, ok := refs[plumbing.NewBranchReferenceName(p.ref.Name)]; ok {
			return fmt.Sprintf("a branch of that name exists; to follow it set the ref to %q", p.ref.Name)
		}
	}
	return ""
}

// fetch fetches one remote ref into the cache, depth 1 and without tags:
// a deployment needs the tree at one commit, not history.
func (p *Poller) fetch(ctx context.Context, src, dst plumbing.ReferenceName) error {
	return p.fetchSpec(ctx, config.RefSpec("+"+src.String()+":"+dst.String()))
}

func (p *Poller) fetchSpec(ctx context.Context, spec config.RefSpec) error {
	auth, err := p.authMethod()
	if err != nil {
		return err
	}
	start := time.Now()
	r := git.NewRemote(p.cache.st, &config.RemoteConfig{Name: "origin", URLs: []string{p.address}})
	err = r.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{spec},
		Depth:    1,
		Auth:     auth,
		Tags:     git.NoTags,
		Force:    true, // history rewritten by a force-push is followed
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	p.metrics.observeFetch(p.url, p.opts.Ref, time.Since(start))
	p.log.Debug("fetched", logkey.Duration, time.Since(start))
	return nil
}

// fetchCommit fetches a pinned commit by SHA. Servers that do not allow
// that (git's default outside smart HTTP; GitHub allows it) can still serve
// a commit some ref points at, so fall back to fetching that ref.
func (p *Poller) fetchCommit(ctx context.Context, want plumbing.Hash) error {
	err := p.fetchSpec(ctx, config.RefSpec(want.String()+":"+pinnedRef.String()))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, git.ErrExactSHA1NotSupported):
		refs, lerr := p.listRefs(ctx)
		if lerr != nil {
			return lerr
		}
		for _, ref := range refs {
			if ref.Hash() == want && ref.Type() == plumbing.HashReference {
				name := plumbing.ReferenceName(strings.TrimSuffix(ref.Name().String(), "^{}"))
				return p.fetch(ctx, name, pinnedRef)
			}
		}
		return &Error{Reason: ReasonUnsupported, URL: p.url, Ref: p.ref, Err: err,
			Hint: "the server only serves commits that a branch or tag points at (git's uploadpack.allowReachableSHA1InWant is off); pin a tag, or point a branch or tag at the commit"}
	case strings.Contains(err.Error(), "not our ref"), strings.Contains(err.Error(), "not a valid object"):
		return &Error{Reason: ReasonRefNotFound, URL: p.url, Ref: p.ref, Err: err}
	}
	return err
}
