package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// Source is what the router needs of a Git poller (source.Poller): whether
// a push concerns it, and a non-blocking request to poll now.
type Source interface {
	// Follows reports whether a push of ref (full name) to the repository
	// at any of repoURLs is one the source follows.
	Follows(ref string, repoURLs ...string) bool
	Trigger()
}

// PullRequestHandler plans pull requests (the plan module). Both methods
// must return at once: GitHub gives a delivery ten seconds.
type PullRequestHandler interface {
	// Plan asks for a plan of pr's head; a newer head of the same pull
	// request supersedes an older one.
	Plan(pr PullRequest)
	// Forget drops what is planned or known of a closed pull request.
	Forget(number int)
}

// RouterOptions configure the webhook router. Start from
// DefaultRouterOptions and set the secret.
type RouterOptions struct {
	// SecretFile holds the webhook's shared secret (trailing newlines
	// ignored); SecretEnv names an environment variable holding it. One of
	// the two. It is read once, at start.
	SecretFile string
	SecretEnv  string
	// MaxBodyBytes caps a delivery; larger ones get 413. A push or pull
	// request payload is a few KiB to some hundred.
	MaxBodyBytes int64
	// ReadTimeout bounds the time to receive a body; a sender that stalls
	// is cut off when it passes.
	ReadTimeout time.Duration
	// MaxPendingBytes bounds the body bytes held, across all requests,
	// before their signature is checked: a request waits (within its read
	// timeout) for room before its body is read, so stalled senders cannot
	// pin memory. At least MaxBodyBytes.
	MaxPendingBytes int64
	// WarnEvery is the least time between two warnings about bad
	// signatures; the ones in between are counted in the next.
	WarnEvery time.Duration
	// ForwardTimeout is how long a standby tries to hand a push or
	// pull_request delivery to the leader (RouterDeps.Leadership) before
	// it answers 503; within GitHub's ten seconds per delivery.
	ForwardTimeout time.Duration
}

// DefaultRouterOptions take bodies up to 1 MiB, read within 10 seconds,
// at most 8 MiB of them at once, and give a standby 8 seconds to reach the
// leader.
func DefaultRouterOptions() RouterOptions {
	return RouterOptions{
		MaxBodyBytes:    1 << 20,
		ReadTimeout:     10 * time.Second,
		MaxPendingBytes: 8 << 20,
		WarnEvery:       time.Minute,
		ForwardTimeout:  8 * time.Second,
	}
}

// Validate checks the options without reading the secret.
func (o RouterOptions) Validate() error {
	var errs []error
	if (o.SecretFile == "") == (o.SecretEnv == "") {
		errs = append(errs, errors.New("webhook: set exactly one of secret file and secret environment variable"))
	}
	if o.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("webhook: max body bytes %d must be positive", o.MaxBodyBytes))
	}
	if o.MaxPendingBytes < o.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("webhook: max pending bytes %d must be at least the max body bytes %d", o.MaxPendingBytes, o.MaxBodyBytes))
	}
	if o.ReadTimeout <= 0 || o.WarnEvery < 0 {
		errs = append(errs, fmt.Errorf("webhook: read timeout %s must be positive, warn interval %s not negative", o.ReadTimeout, o.WarnEvery))
	}
	if o.ForwardTimeout <= 0 {
		errs = append(errs, fmt.Errorf("webhook: forward timeout %s must be positive", o.ForwardTimeout))
	}
	return errors.Join(errs...)
}

// RouterDeps are what a Router dispatches to and reports through.
type RouterDeps struct {
	// Sources are woken by pushes they follow; pull requests are routed
	// only when some source follows their base branch.
	Sources []Source
	// PullRequests may be nil: pull_request deliveries are then accepted
	// and dropped.
	PullRequests PullRequestHandler
	// Leadership, with leader election, says whether this replica acts on
	// push and pull_request deliveries or forwards them to the leader (see
	// forward). Nil: this replica acts on every delivery.
	Leadership Leadership
	// Registerer receives gitopsd_webhook_requests_total; nil registers nothing.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Router is the http.Handler of POST /hooks/github.
type Router struct {
	opts    RouterOptions
	secret  []byte
	deps    RouterDeps
	log     *slog.Logger
	metrics *webhookMetrics
	pending *semaphore.Weighted // body bytes not yet authenticated
	warn    logLimiter
	client  *http.Client // to the leader, from a standby
}

var _ http.Handler = (*Router)(nil)

// NewRouter reads the secret and builds the router.
func NewRouter(opts RouterOptions, deps RouterDeps) (*Router, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for i, s := range deps.Sources {
		if s == nil {
			return nil, fmt.Errorf("webhook: source %d is nil", i)
		}
	}
	secret, err := readSecret(opts)
	if err != nil {
		return nil, err
	}
	metrics, err := newWebhookMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("webhook: register metrics: %w", err)
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{
		opts:    opts,
		secret:  secret,
		deps:    deps,
		log:     log,
		metrics: metrics,
		pending: semaphore.NewWeighted(opts.MaxPendingBytes),
		warn:    logLimiter{every: opts.WarnEvery},
		client:  newForwardClient(),
	}, nil
}

func readSecret(o RouterOptions) ([]byte, error) {
	if o.SecretFile != "" {
		b, err := os.ReadFile(o.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook: read secret file: %w", err)
		}
		secret := strings.TrimRight(string(b), "\r\n")
		if secret == "" {
			return nil, fmt.Errorf("webhook: secret file %s is empty", o.SecretFile)
		}
		return []byte(secret), nil
	}
	v, ok := os.LookupEnv(o.SecretEnv)
	if !ok || v == "" {
		return nil, fmt.Errorf("webhook: environment variable %s is not set or empty", o.SecretEnv)
	}
	return []byte(v), nil
}

// reply is the small JSON body of every answer, so a person reading
// GitHub's delivery log sees what happened.
type reply struct {
	Result    string `json:"result"`
	Reason    string `json:"reason,omitempty"`
	Triggered int    `json:"triggered,omitempty"`
	// ForwardedTo is the leader's address, when a standby forwarded the
	// delivery; the rest is the leader's answer.
	ForwardedTo string `json:"forwardedTo,omitempty"`
	status      int
}

// metricResult counts a forwarded delivery apart: the leader counts what
// it did with it.
func (r reply) metricResult() string {
	if r.ForwardedTo != "" {
		return "forwarded"
	}
	return r.Result
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get(github.EventTypeHeader)
	rep := rt.handle(w, r, event)
	rt.metrics.observe(eventLabel(event), rep.metricResult())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch rep.status {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodPost)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep)
}

func (rt *Router) handle(w http.ResponseWriter, r *http.Request, event string) reply {
	if r.Method != http.MethodPost {
		return reply{status: http.StatusMethodNotAllowed, Result: "method_not_allowed", Reason: "use POST"}
	}
	body, release, rep := rt.readBody(w, r)
	defer release()
	if rep.status != 0 {
		return rep
	}
	delivery := truncate(r.Header.Get(github.DeliveryIDHeader), 64) // unauthenticated: keep log lines short
	// Only SHA-256: go-github would also take the SHA-1 header, which
	// GitHub keeps only for old receivers.
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") || github.ValidateSignature(sig, body, rt.secret) != nil {
		if ok, suppressed := rt.warn.allow(time.Now()); ok {
			rt.log.Warn("webhook signature missing or wrong", logkey.Event, truncate(event, 64), logkey.Delivery, delivery,
				logkey.RemoteAddr, r.RemoteAddr, logkey.Suppressed, suppressed)
		}
		return reply{status: http.StatusUnauthorized, Result: "unauthorized", Reason: "missing or wrong X-Hub-Signature-256"}
	}
	if (event == "push" || event == "pull_request") && rt.standby() {
		return rt.forward(r, body, event, delivery)
	}
	return rt.route(event, r.Header.Get("Content-Type"), body, delivery)
}

// eventLabel keeps the metric's label set bounded: the header is not
// authenticated.
func eventLabel(event string) string {
	switch event {
	case "push", "pull_request", "ping":
		return event
	}
	return "other"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
