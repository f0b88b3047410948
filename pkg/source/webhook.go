package source

// Follows reports whether a push of ref (a full name, e.g. refs/heads/main)
// to the repository at any of urls is one the Poller follows, so that a
// push webhook can wake it. The repository matches however its URL is
// spelled (scheme, credentials, port, ".git", trailing slashes and letter
// case: GitHub's names are case-insensitive); the ref must be the followed
// branch or tag by its full name, so a tag named like the branch does not
// match. A Poller pinned to a commit follows no push.
func (p *Poller) Follows(ref string, urls ...string) bool {
	want := p.ref.FullName()
	if want == "" || want.String() != ref {
		return false
	}
	key, ok := repoKey(p.opts.URL)
	if !ok {
		return false
	}
	for _, u := range urls {
		if k, ok := repoKey(u); ok && k == key {
			return true
		}
	}
	return false
}
