package github

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// DefaultAPIURL is github.com's REST API. GitHub Enterprise Server serves
// the same API at https://HOST/api/v3/.
const DefaultAPIURL = "https://api.github.com/"

// Options configure a Client. Start from DefaultOptions and check them with
// Validate.
type Options struct {
	// APIURL is the REST API's base URL. Plain http is accepted only for
	// loopback addresses (tests, the demo): the token travels with every
	// request.
	APIURL string
	// Repository is OWNER/NAME, the repository statuses and comments go to.
	Repository string
	// TokenFile holds the token (trailing whitespace ignored); it is read
	// again when the file changes, so a rotated Secret needs no restart.
	TokenFile string
	// TokenEnv names an environment variable holding the token.
	TokenEnv string
	// Timeout bounds one HTTP request.
	Timeout time.Duration
	// WriteSpacing is the least time between two writes (POST, PATCH):
	// GitHub asks integrations to space content-creating requests by at
	// least a second to stay clear of its secondary rate limits.
	WriteSpacing time.Duration
	// WriteBurst is how many writes may go out back to back before the
	// spacing applies; the spacing still bounds the rate over time. 0 or
	// 1: every write is spaced.
	WriteBurst int
	// MaxRetries is how many times one call is retried after rate-limit
	// answers before its error is returned.
	MaxRetries int
	// MaxWait is the longest rate-limit wait a call accepts; a limit that
	// resets later fails the call at once, with the reset time.
	MaxWait time.Duration
	// MergeWait is how long MergedPullRequest keeps asking while GitHub
	// knows no pull request for a commit, as happens for a moment after a
	// merge; MergePoll is the pause between those asks.
	MergeWait time.Duration
	MergePoll time.Duration
}

// DefaultOptions talk to github.com, space writes by a second, wait out
// rate limits of up to an hour, and give a fresh merge 30 seconds to show.
func DefaultOptions() Options {
	return Options{
		APIURL:       DefaultAPIURL,
		Timeout:      30 * time.Second,
		WriteSpacing: time.Second,
		MaxRetries:   5,
		MaxWait:      time.Hour,
		MergeWait:    30 * time.Second,
		MergePoll:    2 * time.Second,
	}
}

// Validate reports every problem at once; it reads no file.
func (o Options) Validate() error {
	var errs []error
	if _, err := apiURL(o.APIURL); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := splitRepository(o.Repository); err != nil {
		errs = append(errs, err)
	}
	if (o.TokenFile == "") == (o.TokenEnv == "") {
		errs = append(errs, errors.New("github: set exactly one of token file and token environment variable"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", o.Timeout}, {"max wait", o.MaxWait}, {"merge poll", o.MergePoll}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("github: %s %s must be positive", d.name, d.v))
		}
	}
	if o.WriteSpacing < 0 || o.MergeWait < 0 {
		errs = append(errs, fmt.Errorf("github: write spacing %s and merge wait %s must not be negative", o.WriteSpacing, o.MergeWait))
	}
	if o.WriteBurst < 0 {
		errs = append(errs, fmt.Errorf("github: write burst %d must not be negative", o.WriteBurst))
	}
	if o.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("github: max retries %d must not be negative", o.MaxRetries))
	}
	return errors.Join(errs...)
}

// apiURL parses the API base URL, adding the trailing slash go-github needs.
func apiURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("github: API URL %q: %w", raw, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("github: API URL %q: want https://HOST/ or https://HOST/api/v3/, without credentials or query", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("github: API URL %q: plain http would send the token in clear; use https", raw)
		}
	default:
		return nil, fmt.Errorf("github: API URL %q: scheme must be https", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// splitRepository reads OWNER/NAME.
func splitRepository(s string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.ContainsAny(owner, " ") {
		return "", "", fmt.Errorf("github: repository %q: want OWNER/NAME", s)
	}
	return owner, strings.TrimSuffix(name, ".git"), nil
}
