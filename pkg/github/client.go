package github

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// Client talks to one repository's commit statuses, pull requests and
// comments through go-github. Every call waits out rate limits and retries
// (see Options); writes are spaced. It is safe for concurrent use.
type Client struct {
	opts        Options
	owner, repo string
	gh          *github.Client
	log         *slog.Logger

	writes   writeSpacer
	serial   keyedSerial // one status or comment update per key at a time
	statuses statusCache
	comments commentCache
	login    loginCache
}

// Deps are what a Client is built from besides its options.
type Deps struct {
	// HTTP is the client requests go through (its Transport is wrapped);
	// nil means a fresh one with Options.Timeout.
	HTTP *http.Client
	// Registerer receives gitopsd_github_requests_total and
	// gitopsd_github_rate_remaining; nil registers nothing.
	Registerer prometheus.Registerer
	// Log may be nil.
	Log *slog.Logger
}

// NewClient checks opts, reads the token, registers the metrics and builds
// the client; it sends no request.
func NewClient(opts Options, deps Deps) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	base, _ := apiURL(opts.APIURL)
	owner, repo, _ := splitRepository(opts.Repository)
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token, err := newTokenSource(opts, log)
	if err != nil {
		return nil, err
	}
	metrics, err := newClientMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("github: register metrics: %w", err)
	}
	hc := &http.Client{Timeout: opts.Timeout}
	if deps.HTTP != nil {
		copied := *deps.HTTP
		hc = &copied
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = &transport{base: rt, token: token, metrics: metrics}
	gh := github.NewClient(hc)
	gh.BaseURL = base
	gh.UserAgent = "gitopsd"
	return &Client{
		opts:   opts,
		owner:  owner,
		repo:   repo,
		gh:     gh,
		log:    log.With(logkey.GitHubRepository, opts.Repository),
		writes: writeSpacer{every: opts.WriteSpacing, burst: opts.WriteBurst},
		serial: keyedSerial{held: map[string]chan struct{}{}},
	}, nil
}

// Repository is the OWNER/NAME the client works on.
func (c *Client) Repository() string { return c.owner + "/" + c.repo }
