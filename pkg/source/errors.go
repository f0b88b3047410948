package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Reason classifies why a poll failed. It is the value of the reason label
// on gitopsd_source_fetch_errors_total and decides how a caller reports the
// failure; Status keeps the whole error.
type Reason string

const (
	// ReasonRefNotFound: the branch or tag does not exist (any more), or the
	// pinned commit is not in the repository.
	ReasonRefNotFound Reason = "ref_not_found"
	// ReasonRepositoryNotFound: nothing at that URL.
	ReasonRepositoryNotFound Reason = "repository_not_found"
	// ReasonAuth: the server wants credentials, or refused the ones given.
	ReasonAuth Reason = "auth_failed"
	// ReasonHostKey: the SSH server's key is not the one in known_hosts.
	ReasonHostKey Reason = "host_key"
	// ReasonUnreachable: the host could not be reached at all.
	ReasonUnreachable Reason = "unreachable"
	// ReasonTimeout: the poll ran out of time.
	ReasonTimeout Reason = "timeout"
	// ReasonUnsupported: the server cannot do what the ref needs, e.g. fetch a
	// commit that is not the tip of a ref.
	ReasonUnsupported Reason = "unsupported"
	// ReasonConfig: a local setting is wrong, e.g. an unreadable password file.
	ReasonConfig Reason = "config"
	// ReasonCache: the local cache could not be read or written.
	ReasonCache Reason = "cache"
	// ReasonOther: anything else; the wrapped error says what.
	ReasonOther Reason = "other"
)

// Error is a failed poll. Its message names the repository (without
// credentials) and says what a user can do; Unwrap gives the cause.
type Error struct {
	Reason Reason
	// URL is the repository URL with credentials removed.
	URL string
	// Ref is the ref as configured.
	Ref Ref
	// Authenticated says whether credentials were sent.
	Authenticated bool
	// Timeout is the limit that ran out, for ReasonTimeout.
	Timeout time.Duration
	// Hint is an optional extra sentence, e.g. that a tag of that name exists.
	Hint string
	Err  error
}

func (e *Error) Error() string {
	var msg string
	switch e.Reason {
	case ReasonRefNotFound:
		msg = fmt.Sprintf("%s not found in %s", e.Ref, e.URL)
	case ReasonRepositoryNotFound:
		msg = fmt.Sprintf("repository %s not found", e.URL)
		if e.Authenticated {
			msg += " (or not visible to these credentials)"
		}
	case ReasonAuth:
		if e.Authenticated {
			msg = fmt.Sprintf("authentication failed for %s: the server refused the credentials", e.URL)
		} else {
			msg = fmt.Sprintf("authentication failed for %s: the server requires credentials and none are configured", e.URL)
		}
	case ReasonHostKey:
		msg = fmt.Sprintf("host key verification failed for %s: %v; check the known hosts file", e.URL, e.Err)
	case ReasonUnreachable:
		// The innermost network error says it best ("dial tcp …: connection
		// refused"); the wrapping HTTP error repeats the URL with a query.
		var cause error = e.Err
		var opErr *net.OpError
		var dnsErr *net.DNSError
		if errors.As(e.Err, &opErr) {
			cause = opErr
		} else if errors.As(e.Err, &dnsErr) {
			cause = dnsErr
		}
		msg = fmt.Sprintf("repository %s unreachable: %v", e.URL, cause)
	case ReasonTimeout:
		msg = fmt.Sprintf("poll %s %s: timed out after %s", e.URL, e.Ref, e.Timeout)
	default:
		msg = fmt.Sprintf("poll %s %s: %v", e.URL, e.Ref, e.Err)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf classifies any error a Poller returned; nil gives "".
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonOther
}

// IsNotFound reports whether err says the ref or the repository is missing.
func IsNotFound(err error) bool {
	r := ReasonOf(err)
	return r == ReasonRefNotFound || r == ReasonRepositoryNotFound
}

// IsAuth reports whether err is an authentication or host key failure.
func IsAuth(err error) bool {
	r := ReasonOf(err)
	return r == ReasonAuth || r == ReasonHostKey
}

// classify maps a transport or storage error to a Reason. The order matters:
// a timeout is reported as one even when it surfaced as a dial error.
func classify(err error) Reason {
	var (
		netErr net.Error
		opErr  *net.OpError
		dnsErr *net.DNSError
		keyErr *knownhosts.KeyError
	)
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ReasonTimeout
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod),
		strings.Contains(msg, "ssh: unable to authenticate"):
		return ReasonAuth
	case errors.As(err, &keyErr), strings.Contains(msg, "knownhosts:"):
		return ReasonHostKey
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ReasonRepositoryNotFound
	case errors.Is(err, git.ErrExactSHA1NotSupported):
		return ReasonUnsupported
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return ReasonUnreachable
	}
	return ReasonOther
}
