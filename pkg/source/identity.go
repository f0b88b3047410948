package source

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Identity names a repository and ref the same way however they are
// spelled, for recording who owns an installation: "//HOST/PATH@REF" for a
// remote repository and "file://PATH@REF" for a local one.
//
// For a remote the scheme (https, http, ssh, scp-like user@host:path), the
// user, the protocol's default port, a ".git" suffix and slashes at either
// end of the path are left out and the host is lower-cased; a port other
// than the default is kept. A local path is made absolute and cleaned. The
// ref is the full name the remote advertises (a branch "main" is
// "refs/heads/main") or the lower-case commit SHA. The path keeps its case:
// most Git servers tell "Fleet" from "fleet".
//
//	Identity("https://GitHub.com/example/fleet.git", "main")
//	Identity("git@github.com:example/fleet", "refs/heads/main")
//	// both "//github.com/example/fleet@refs/heads/main"
func Identity(url, ref string) (string, error) {
	repo, err := repoIdentity(url)
	if err != nil {
		return "", err
	}
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	name := r.Name
	if r.Kind != Commit {
		name = r.FullName().String()
	}
	return repo + "@" + name, nil
}

// NormalizeIdentity returns the Identity of a recorded source: an Identity
// (returned as it is) or "URL@REF" as earlier versions recorded it. A
// string that is neither is returned unchanged, so that it still equals
// itself.
func NormalizeIdentity(recorded string) string {
	// A URL may hold an "@" (user@host:path) and so may a ref: try each
	// split from the right, where a ref is far more likely to end.
	for i := strings.LastIndex(recorded, "@"); i > 0; i = strings.LastIndex(recorded[:i], "@") {
		if id, err := Identity(recorded[:i], recorded[i+1:]); err == nil {
			return id
		}
	}
	return recorded
}

// SameIdentity reports whether two recorded sources name the same
// repository and ref, each normalised as NormalizeIdentity does. Two empty
// sources are the same; an empty one is never the same as another.
func SameIdentity(a, b string) bool {
	return a == b || NormalizeIdentity(a) == NormalizeIdentity(b)
}

// repoIdentity is the part of an Identity before the "@".
func repoIdentity(raw string) (string, error) {
	rest, isIdentity := strings.CutPrefix(raw, "//")
	if isIdentity {
		// Already an identity: read it as a URL and keep any port it has.
		raw = "https://" + rest
	}
	ep, err := parseRepoURL(strings.TrimSpace(RedactURL(raw)))
	if err != nil {
		return "", err
	}
	if ep.Protocol == protoFile {
		abs, err := filepath.Abs(ep.Path)
		if err != nil {
			return "", fmt.Errorf("repository path %q: %w", ep.Path, err)
		}
		return "file://" + filepath.ToSlash(abs), nil
	}
	host := strings.ToLower(ep.Host)
	if ep.Port != 0 && (isIdentity || ep.Port != defaultPort(ep)) {
		host += ":" + strconv.Itoa(ep.Port)
	}
	p := strings.Trim(ep.Path, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.Trim(p, "/")
	if p == "" {
		return "", fmt.Errorf("repository URL %q has no path", RedactURL(raw))
	}
	return "//" + host + "/" + p, nil
}

// defaultPort is the port a protocol uses when a URL names none.
func defaultPort(ep *transport.Endpoint) int {
	switch ep.Protocol {
	case protoHTTP:
		return 80
	case protoHTTPS:
		return 443
	case protoSSH:
		return 22
	}
	return 0
}
