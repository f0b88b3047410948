package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/google/go-github/v57/github"
)

// DefaultMaxWebhookBytes caps a webhook body. A push to a fleet repository
// sends a few KiB; GitHub's own cap (25 MiB) is far more than needed, and a
// low cap keeps a flood of large bodies cheap to refuse.
const DefaultMaxWebhookBytes = 1 << 20

// Trigger is what the webhook needs from a Poller: a non-blocking request
// for a poll now.
type Trigger interface {
	Trigger()
}

var _ Trigger = (*Poller)(nil)

// WebhookTarget is one followed repository and ref, and whom to wake when
// it is pushed to.
type WebhookTarget struct {
	// URL of the repository in any form (https, ssh, scp-like); matched
	// against the payload's clone, HTML and SSH URLs.
	URL string
	// Ref as configured for the Poller; a pinned commit never matches a push.
	Ref     string
	Trigger Trigger
}

// WebhookOptions configure the push webhook receiver.
type WebhookOptions struct {
	// SecretFile holds the webhook's shared secret (trailing newlines ignored).
	SecretFile string
	// SecretEnv names an environment variable holding the shared secret.
	SecretEnv string
	// MaxBodyBytes caps a request body; larger ones get 413.
	MaxBodyBytes int64
}

// DefaultWebhookOptions cap bodies at 1 MiB.
func DefaultWebhookOptions() WebhookOptions {
	return WebhookOptions{MaxBodyBytes: DefaultMaxWebhookBytes}
}

// Validate checks the options without reading the secret.
func (o WebhookOptions) Validate() error {
	var errs []error
	if (o.SecretFile == "") == (o.SecretEnv == "") {
		errs = append(errs, errors.New("webhook: set exactly one of secret file and secret environment variable"))
	}
	if o.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("webhook: max body bytes %d must be positive", o.MaxBodyBytes))
	}
	return errors.Join(errs...)
}

// Webhook receives GitHub push events and triggers a poll of each target
// whose repository and ref were pushed to. It is an http.Handler, meant for
// POST /hooks/github.
type Webhook struct {
	secret  []byte
	max     int64
	targets []webhookTarget
	log     *slog.Logger
	metrics *Metrics
}

type webhookTarget struct {
	repo    string // repoKey of the URL
	ref     string // full ref name, e.g. refs/heads/main; empty for a pinned commit
	trigger Trigger
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook reads the secret once (restart to rotate it) and builds the
// handler. log and m may be nil.
func NewWebhook(opts WebhookOptions, log *slog.Logger, m *Metrics, targets ...WebhookTarget) (*Webhook, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	secret, err := readWebhookSecret(opts)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Webhook{secret: secret, max: opts.MaxBodyBytes, log: log, metrics: m}
	for _, t := range targets {
		key, ok := repoKey(t.URL)
		if !ok {
			return nil, fmt.Errorf("webhook target %q: not a repository URL", RedactURL(t.URL))
		}
		ref, err := ParseRef(t.Ref)
		if err != nil {
			return nil, fmt.Errorf("webhook target %s: %w", RedactURL(t.URL), err)
		}
		if t.Trigger == nil {
			return nil, fmt.Errorf("webhook target %s: trigger is nil", RedactURL(t.URL))
		}
		w.targets = append(w.targets, webhookTarget{repo: key, ref: ref.FullName().String(), trigger: t.Trigger})
	}
	return w, nil
}

func readWebhookSecret(o WebhookOptions) ([]byte, error) {
	var secret string
	if o.SecretFile != "" {
		b, err := os.ReadFile(o.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook: read secret file: %w", err)
		}
		secret = strings.TrimRight(string(b), "\r\n")
		if secret == "" {
			return nil, fmt.Errorf("webhook: secret file %s is empty", o.SecretFile)
		}
	} else {
		v, ok := os.LookupEnv(o.SecretEnv)
		if !ok || v == "" {
			return nil, fmt.Errorf("webhook: environment variable %s is not set or empty", o.SecretEnv)
		}
		secret = v
	}
	return []byte(secret), nil
}

// webhookReply is the small JSON body every answer carries, so a person
// reading GitHub's delivery log sees what happened.
type webhookReply struct {
	Result    string `json:"result"`
	Reason    string `json:"reason,omitempty"`
	Triggered int    `json:"triggered,omitempty"`
}

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	event := r.Header.Get(github.EventTypeHeader)
	status, reply := w.handle(rw, r, event)
	w.metrics.observeWebhook(eventLabel(event), reply.Result)
	rw.Header().Set("Content-Type", "application/json")
	if status == http.StatusMethodNotAllowed {
		rw.Header().Set("Allow", http.MethodPost)
	}
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(reply)
}

func (w *Webhook) handle(rw http.ResponseWriter, r *http.Request, event string) (int, webhookReply) {
	delivery := truncate(r.Header.Get(github.DeliveryIDHeader), 64) // unauthenticated: keep log lines short
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, webhookReply{Result: "method_not_allowed", Reason: "use POST"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, webhookReply{Result: "too_large", Reason: fmt.Sprintf("body over %d bytes", w.max)}
		}
		return http.StatusBadRequest, webhookReply{Result: "bad_request", Reason: "reading body failed"}
	}
	// Only SHA-256 is accepted: go-github would also take the SHA-1 header
	// and prefix, which GitHub keeps only for old receivers.
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") || github.ValidateSignature(sig, body, w.secret) != nil {
		w.log.Warn("webhook signature missing or wrong", logKeyEvent, truncate(event, 64), logKeyDelivery, delivery)
		return http.StatusUnauthorized, webhookReply{Result: "unauthorized", Reason: "missing or wrong X-Hub-Signature-256"}
	}

	switch event {
	case "ping":
		return http.StatusOK, webhookReply{Result: "pong"}
	case "push":
	default:
		return http.StatusOK, webhookReply{Result: "ignored", Reason: fmt.Sprintf("event %q is not handled", truncate(event, 64))}
	}

	payload, err := payloadOf(r.Header.Get("Content-Type"), body)
	if err != nil {
		return http.StatusBadRequest, webhookReply{Result: "bad_request", Reason: err.Error()}
	}
	push, err := parsePush(payload)
	if err != nil {
		return http.StatusBadRequest, webhookReply{Result: "bad_request", Reason: err.Error()}
	}
	return w.dispatch(push, delivery)
}

// dispatch triggers every target the push is for.
func (w *Webhook) dispatch(push *github.PushEvent, delivery string) (int, webhookReply) {
	ref := push.GetRef()
	repos := pushRepoKeys(push)
	if len(repos) == 0 {
		return http.StatusBadRequest, webhookReply{Result: "bad_request", Reason: "push payload names no repository"}
	}
	repoSeen, n := false, 0
	for _, t := range w.targets {
		if !repos[t.repo] {
			continue
		}
		repoSeen = true
		if t.ref == "" || t.ref != ref {
			continue
		}
		t.trigger.Trigger()
		n++
	}
	name := push.GetRepo().GetFullName()
	switch {
	case n > 0:
		w.log.Info("push webhook triggered a poll", logKeyEvent, "push", logKeyRepository, name, logKeyWebhookRef, ref, logKeyDelivery, delivery)
		return http.StatusAccepted, webhookReply{Result: "triggered", Triggered: n}
	case !repoSeen:
		return http.StatusOK, webhookReply{Result: "ignored", Reason: fmt.Sprintf("repository %s is not followed", truncate(name, 200))}
	}
	return http.StatusOK, webhookReply{Result: "ignored", Reason: fmt.Sprintf("ref %s is not followed", truncate(ref, 200))}
}

// payloadOf extracts the JSON from either content type GitHub sends.
func payloadOf(contentType string, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", truncate(contentType, 64), err)
	}
	switch mt {
	case "application/json":
		return body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		return []byte(form.Get("payload")), nil
	}
	return nil, fmt.Errorf("content type %q is not supported", truncate(mt, 64))
}

func parsePush(payload []byte) (*github.PushEvent, error) {
	ev, err := github.ParseWebHook("push", payload)
	if err != nil {
		return nil, fmt.Errorf("push payload: %w", err)
	}
	push, ok := ev.(*github.PushEvent)
	if !ok {
		return nil, fmt.Errorf("push payload: unexpected type %T", ev)
	}
	if push.GetRef() == "" {
		return nil, errors.New("push payload has no ref")
	}
	return push, nil
}

// pushRepoKeys are the repository's URLs in the payload, normalised.
func pushRepoKeys(push *github.PushEvent) map[string]bool {
	repo := push.GetRepo()
	keys := map[string]bool{}
	for _, u := range []string{repo.GetCloneURL(), repo.GetHTMLURL(), repo.GetSSHURL(), repo.GetGitURL()} {
		if k, ok := repoKey(u); ok {
			keys[k] = true
		}
	}
	return keys
}

// eventLabel keeps the metric's label set bounded: the header is not
// authenticated.
func eventLabel(event string) string {
	switch event {
	case "push", "ping":
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
