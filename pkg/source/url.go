package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Protocols a Poller speaks. "git://" is left out on purpose: it has neither
// authentication nor integrity, which a deployment source needs.
const (
	protoHTTP  = "http"
	protoHTTPS = "https"
	protoSSH   = "ssh"
	protoFile  = "file"
)

// parseRepoURL reads https://, http://, ssh://, scp-like user@host:path,
// file:// and plain local paths. Credentials in an http(s) URL are refused:
// they would end up in logs, status and process listings; Auth reads them
// from a file or an environment variable instead.
func parseRepoURL(raw string) (*transport.Endpoint, error) {
	if raw == "" {
		return nil, fmt.Errorf("repository URL is empty")
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("repository URL %q: %w", RedactURL(raw), err)
	}
	switch ep.Protocol {
	case protoHTTP, protoHTTPS:
		if ep.User != "" || ep.Password != "" {
			return nil, fmt.Errorf("repository URL %q: credentials in the URL are not allowed; set the username and a password file or environment variable in the auth options", RedactURL(raw))
		}
		if ep.Host == "" {
			return nil, fmt.Errorf("repository URL %q has no host", raw)
		}
	case protoSSH:
		if ep.Password != "" {
			return nil, fmt.Errorf("repository URL %q: passwords in ssh URLs are not allowed; use an SSH key", RedactURL(raw))
		}
		if ep.Host == "" {
			return nil, fmt.Errorf("repository URL %q has no host", raw)
		}
	case protoFile:
		if ep.Path == "" {
			return nil, fmt.Errorf("repository URL %q has no path", raw)
		}
	default:
		return nil, fmt.Errorf("repository URL %q: protocol %q is not supported (use https, http, ssh or file)", RedactURL(raw), ep.Protocol)
	}
	return ep, nil
}

// transportURL is the address handed to go-git: local paths are made
// absolute so that the working directory of the daemon does not matter.
func transportURL(raw string, ep *transport.Endpoint) (string, error) {
	if ep.Protocol != protoFile {
		return raw, nil
	}
	abs, err := filepath.Abs(ep.Path)
	if err != nil {
		return "", fmt.Errorf("repository path %q: %w", ep.Path, err)
	}
	return abs, nil
}

// RedactURL removes credentials from a repository URL so it can be logged or
// shown: the whole userinfo of an http(s) URL (a token can sit in the user
// part), and the password of any other. Strings that do not parse keep only
// what follows an "@" in their authority, which is the safe side.
func RedactURL(raw string) string {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		if i := strings.Index(raw, "://"); i >= 0 {
			rest := raw[i+3:]
			end := strings.IndexAny(rest, "/?#")
			if end < 0 {
				end = len(rest)
			}
			if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
				return raw[:i+3] + rest[at+1:]
			}
		}
		return raw
	}
	if ep.User == "" && ep.Password == "" {
		return raw
	}
	switch ep.Protocol {
	case protoHTTP, protoHTTPS:
		ep.User, ep.Password = "", ""
		return ep.String()
	default:
		if ep.Password == "" {
			return raw
		}
		ep.Password = ""
		return ep.String()
	}
}

// repoKey identifies a repository independently of how its URL is spelled
// in the ways GitHub spells it in webhook payloads: scheme, credentials, port,
// a ".git" suffix, trailing slashes and letter case are ignored. Case goes
// too because GitHub owner and repository names are case-insensitive; a false
// match costs one ls-remote, a missed one a whole poll interval.
func repoKey(raw string) (string, bool) {
	ep, err := transport.NewEndpoint(strings.TrimSpace(raw))
	if err != nil {
		return "", false
	}
	p := strings.Trim(ep.Path, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.Trim(p, "/")
	if p == "" {
		return "", false
	}
	return strings.ToLower(ep.Host) + "/" + strings.ToLower(p), true
}

// cacheName is the directory under CacheDir for one repository: readable for
// an operator (the repository's base name) and unique (a hash of its
// credential-free address).
func cacheName(ep *transport.Endpoint, address string) string {
	key := ep.Protocol + "://" + strings.ToLower(ep.Host) + fmt.Sprintf(":%d", ep.Port) + "/" + ep.Path
	if ep.Protocol == protoFile {
		key = protoFile + "://" + address
	}
	sum := sha256.Sum256([]byte(key))
	base := strings.TrimSuffix(path.Base(strings.TrimRight(filepath.ToSlash(ep.Path), "/")), ".git")
	var b strings.Builder
	for _, c := range base {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), ".")
	if len(name) > 40 {
		name = name[:40]
	}
	if name == "" {
		name = "repo"
	}
	return name + "-" + hex.EncodeToString(sum[:8]) + ".git"
}
