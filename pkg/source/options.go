package source

import (
	"errors"
	"fmt"
	"time"
)

// Options configure a Poller. Build them from DefaultOptions and check them
// with Validate before use.
type Options struct {
	// URL of the repository: https://, http://, ssh://, user@host:path,
	// file:// or a local path. It must not carry credentials.
	URL string
	// Ref to follow: a branch name (or refs/heads/NAME), refs/tags/NAME, or a
	// full 40-hex commit SHA.
	Ref string
	// CacheDir holds one bare repository per URL and survives restarts, so a
	// restarted daemon fetches nothing when the remote has not moved.
	CacheDir string
	// Interval between polls; each wait is spread by up to a tenth either
	// way so that many daemons do not poll in step.
	Interval time.Duration
	// Timeout bounds one poll: ls-remote plus fetch.
	Timeout time.Duration
	// MaxBackoff caps the wait after consecutive failures, which starts at
	// Interval and doubles.
	MaxBackoff time.Duration
	// Auth for the repository; the zero value means none.
	Auth Auth
}

// DefaultOptions follow the branch main every minute.
func DefaultOptions() Options {
	return Options{
		Ref:        "main",
		Interval:   time.Minute,
		Timeout:    time.Minute,
		MaxBackoff: 10 * time.Minute,
	}
}

// Validate reports every problem at once, so a user fixes a config in one go.
func (o Options) Validate() error {
	var errs []error
	ep, err := parseRepoURL(o.URL)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseRef(o.Ref); err != nil {
		errs = append(errs, err)
	}
	if o.CacheDir == "" {
		errs = append(errs, errors.New("cache directory is empty"))
	}
	if o.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval %s must be positive", o.Interval))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s must be positive", o.Timeout))
	}
	if o.MaxBackoff < o.Interval {
		errs = append(errs, fmt.Errorf("max backoff %s must be at least the interval %s", o.MaxBackoff, o.Interval))
	}
	if err := o.Auth.Validate(); err != nil {
		errs = append(errs, err)
	} else if ep != nil {
		if err := o.Auth.validateFor(ep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
