package source

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// Poller follows one ref of one repository. Poll does one round; Run polls
// on an interval until its context ends, and Trigger asks it for a round
// now. Latest, Status and Updates may be called from any goroutine.
type Poller struct {
	opts    Options
	ref     Ref
	url     string // as configured, credentials removed
	id      string // see Identity
	address string // what go-git dials: local paths made absolute
	log     *slog.Logger
	metrics *Metrics

	pollMu sync.Mutex // one round at a time; guards cache
	cache  *repoCache

	trigger chan struct{}
	updates chan struct{}

	mu       sync.Mutex // guards the fields below
	latest   Snapshot
	hasValue bool
	status   Status
}

// Status is what a Poller knows about its last rounds, for status pages and
// health checks.
type Status struct {
	URL string // without credentials
	Ref string
	// Commit of the latest good snapshot; empty before the first success.
	Commit      string
	LastSuccess time.Time
	// LastError is the error of the last round, nil when it succeeded; it is
	// a *Error, classified by Reason.
	LastError error
	// LastErrorTime is when a round last failed; it outlives a later success.
	LastErrorTime time.Time
	// ConsecutiveFailures counts failed rounds since the last success.
	ConsecutiveFailures int
	// FailingSince is when the first of those failed rounds started: how
	// long the repository has been failing. Zero after a success.
	FailingSince time.Time
	// PollingSince is when the round under way started; zero between
	// rounds. A round that runs long is a server that hangs, seen before
	// the timeout ends it.
	PollingSince time.Time
	// NextPoll is when Run polls next unless triggered; zero when Run is not running.
	NextPoll time.Time
}

// NewPoller checks opts and builds a Poller; it does no I/O. log and m may
// be nil.
func NewPoller(opts Options, log *slog.Logger, m *Metrics) (*Poller, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("source options: %w", err)
	}
	ep, err := parseRepoURL(opts.URL)
	if err != nil {
		return nil, err
	}
	address, err := transportURL(opts.URL, ep)
	if err != nil {
		return nil, err
	}
	ref, err := ParseRef(opts.Ref)
	if err != nil {
		return nil, err
	}
	id, err := Identity(opts.URL, opts.Ref)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	url := RedactURL(opts.URL)
	log = log.With(logkey.RepoURL, url, logkey.Ref, opts.Ref)
	cacheDir, err := filepath.Abs(opts.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", opts.CacheDir, err)
	}
	if ep.Protocol == protoHTTP && (opts.Auth.PasswordFile != "" || opts.Auth.PasswordEnv != "") {
		log.Warn("sending credentials over plain http; use https outside tests")
	}
	m.start(url, opts.Ref)
	return &Poller{
		opts:    opts,
		ref:     ref,
		url:     url,
		id:      id,
		address: address,
		log:     log,
		metrics: m,
		cache:   &repoCache{dir: filepath.Join(cacheDir, cacheName(ep, address)), log: log},
		trigger: make(chan struct{}, 1),
		updates: make(chan struct{}, 1),
		status:  Status{URL: url, Ref: opts.Ref},
	}, nil
}

// Identity names the repository and ref followed, the same however they
// are spelled (see Identity): what inventories record as their owner.
func (p *Poller) Identity() string { return p.id }

// Latest returns the last good snapshot; false before the first success.
// A failed round never replaces it.
func (p *Poller) Latest() (Snapshot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.hasValue
}

// Status returns a copy of the poller's status.
func (p *Poller) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Updates receives a value after a round that produced a snapshot of a new
// commit. Notifications coalesce (the channel holds one), so a slow
// consumer never blocks the poller and reads Latest for the newest
// snapshot. Meant for one consumer.
func (p *Poller) Updates() <-chan struct{} { return p.updates }

// Trigger asks Run for a round now. It never blocks; triggers that arrive
// while one is pending coalesce into it.
func (p *Poller) Trigger() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// recordStart marks a round under way since start.
func (p *Poller) recordStart(start time.Time) {
	p.mu.Lock()
	p.status.PollingSince = start
	p.mu.Unlock()
}

func (p *Poller) recordSuccess(s Snapshot, at time.Time) {
	p.mu.Lock()
	changed := !p.hasValue || p.latest.Commit != s.Commit
	previous := p.latest.Commit
	p.latest, p.hasValue = s, true
	p.status.Commit = s.Commit
	p.status.LastSuccess = at
	p.status.LastError = nil
	p.status.ConsecutiveFailures = 0
	p.status.FailingSince = time.Time{}
	p.status.PollingSince = time.Time{}
	p.mu.Unlock()

	p.metrics.observeSuccess(p.url, p.opts.Ref, at)
	if !changed {
		return
	}
	p.log.Info("new snapshot", logkey.Commit, s.Commit, logkey.PreviousCommit, previous)
	select {
	case p.updates <- struct{}{}:
	default:
	}
}

// recordFailure records the failure, at at, of the round begun at start.
func (p *Poller) recordFailure(err error, start, at time.Time) {
	p.mu.Lock()
	if p.status.ConsecutiveFailures == 0 {
		p.status.FailingSince = start
	}
	p.status.LastError = err
	p.status.LastErrorTime = at
	p.status.ConsecutiveFailures++
	p.status.PollingSince = time.Time{}
	p.mu.Unlock()
	p.metrics.observeError(p.url, p.opts.Ref, ReasonOf(err))
}

func (p *Poller) setNextPoll(t time.Time) {
	p.mu.Lock()
	p.status.NextPoll = t
	p.mu.Unlock()
}

// current returns the latest snapshot when it is of commit h.
func (p *Poller) current(h string) (Snapshot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hasValue && p.latest.Commit == h {
		return p.latest, true
	}
	return Snapshot{}, false
}
