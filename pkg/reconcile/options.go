package reconcile

import (
	"errors"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
)

// Options tune the loop.
type Options struct {
	// Source identifies this daemon's repository and ref. It is recorded
	// in inventories: an installation owned by another source is not
	// applied, and only this source's removed installations are pruned.
	Source string
	// Name is the installation a repository without gitopsd.yaml is.
	Name string
	// RetryBase is the first wait after a failure; it doubles per failure.
	RetryBase time.Duration
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration
	// ShutdownGrace lets an apply under way finish after shutdown begins.
	ShutdownGrace time.Duration
	// Apply holds engine options every installation starts from.
	Apply apply.Options
	// Now is the clock sync windows are read with; tests replace it.
	Now func() time.Time
}

// DefaultOptions retry after 5s, doubling up to 5m, and give an apply 30s to
// finish at shutdown.
func DefaultOptions() Options {
	return Options{RetryBase: 5 * time.Second, MaxBackoff: 5 * time.Minute, ShutdownGrace: 30 * time.Second, Apply: apply.DefaultOptions(), Now: time.Now}
}

// Validate reports options the loop cannot run with.
func (o Options) Validate() error {
	var errs []error
	if o.RetryBase <= 0 {
		errs = append(errs, errors.New("reconcile options: RetryBase must be positive"))
	}
	if o.MaxBackoff < o.RetryBase {
		errs = append(errs, errors.New("reconcile options: MaxBackoff must be at least RetryBase"))
	}
	if o.ShutdownGrace < 0 {
		errs = append(errs, errors.New("reconcile options: ShutdownGrace must not be negative"))
	}
	if o.Apply.Concurrency < 1 {
		errs = append(errs, errors.New("reconcile options: Apply.Concurrency must be at least 1"))
	}
	if o.Now == nil {
		errs = append(errs, errors.New("reconcile options: Now is required"))
	}
	return errors.Join(errs...)
}

// ApplyOptions are the engine options for inst: base with the
// installation's prune setting, ignore rules and drift policy. It is the
// one place an installation of gitopsd.yaml becomes engine options.
func ApplyOptions(base apply.Options, inst config.Installation) apply.Options {
	opts := base
	opts.Prune, opts.ReportDrift = inst.Prune, inst.Drift == config.DriftReport
	opts.Ignore = nil
	for _, r := range inst.Ignore {
		opts.Ignore = append(opts.Ignore, apply.IgnoreRule{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Paths: r.Paths})
	}
	return opts
}
