package githubtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v57/github"
)

// Defaults of Options.
const (
	DefaultRepository = "example/fleet"
	DefaultToken      = "githubtest-token"
	DefaultLogin      = "gitopsd-bot"
)

// GitHub's documented limits the fake enforces.
const (
	MaxDescription   = 140   // characters of a commit status description
	MaxCommentBody   = 65536 // characters of an issue comment body
	MaxStatusesEach  = 1000  // statuses per SHA and context
	rateLimitPerHour = 5000  // the primary limit of a personal access token
)

// Options configure a Server. The zero value serves DefaultRepository to
// DefaultToken as DefaultLogin.
type Options struct {
	// Repository is OWNER/NAME, the one repository served.
	Repository string
	// Token is the only credential accepted (as "Bearer" or "token").
	Token string
	// Login is the account the token belongs to: GET /user answers it and
	// comments posted with the token are by it.
	Login string
}

func (o Options) withDefaults() Options {
	if o.Repository == "" {
		o.Repository = DefaultRepository
	}
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.Login == "" {
		o.Login = DefaultLogin
	}
	return o
}

// Request is one request the server answered, for tests that count calls.
type Request struct {
	Method string
	// Path without the /api/v3 prefix, e.g. /repos/example/fleet/statuses/SHA.
	Path   string
	Query  string
	Status int
	At     time.Time
}

// Server is the fake. Its handler is live from NewServer until Close.
type Server struct {
	// URL is the API base URL for a client, ending in "/".
	URL string

	opts Options
	http *httptest.Server
	mux  *http.ServeMux

	mu               sync.Mutex // guards everything below
	nextID           int64
	pulls            map[int]*pull
	statuses         map[string][]*github.RepoStatus // by SHA, oldest first
	comments         map[int][]*github.IssueComment  // by pull request number, oldest first
	limits           []Limit                         // answers queued for the next requests
	hideAssociations int
	windowReset      time.Time
	used             int
	requests         []Request
}

// pull is a pull request and every head SHA it has had.
type pull struct {
	pr    *github.PullRequest
	heads []string
}

// NewServer starts a fake on a loopback port.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		pulls:    map[int]*pull{},
		statuses: map[string][]*github.RepoStatus{},
		comments: map[int][]*github.IssueComment{},
	}
	s.mux = s.routes()
	s.http = httptest.NewServer(s)
	s.URL = s.http.URL + "/"
	return s
}

// Close stops serving and waits for requests under way.
func (s *Server) Close() { s.http.Close() }

// Token is the credential the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// Repository is the OWNER/NAME the server serves.
func (s *Server) Repository() string { return s.opts.Repository }

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /user", s.getUser)
	m.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.repo(s.createStatus))
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/statuses", s.repo(s.listStatuses))
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/status", s.repo(s.combinedStatus))
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/pulls", s.repo(s.pullsWithCommit))
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.repo(s.listPulls))
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.repo(s.getPull))
	m.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", s.repo(s.listComments))
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.repo(s.createComment))
	m.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.repo(s.editComment))
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { notFound(w) })
	return m
}

// ServeHTTP checks the token, answers a queued rate-limit error if any,
// then serves the endpoint; every request is logged.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() { s.logRequest(r, rec.status) }()

	limit, remaining, reset := s.account()
	setRateHeaders(rec.Header(), remaining, reset)
	switch {
	case !s.authorized(r):
		writeError(rec, http.StatusUnauthorized, "Bad credentials")
	case limit != nil:
		limit.answer(rec)
	default:
		s.mux.ServeHTTP(rec, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "bearer ", "token "} {
		if tok, ok := strings.CutPrefix(auth, scheme); ok {
			return tok == s.opts.Token
		}
	}
	return false
}

// account counts a request against the primary limit and takes the next
// queued rate-limit answer, if any.
func (s *Server) account() (limit *Limit, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.After(s.windowReset) {
		s.windowReset, s.used = now.Add(time.Hour).Truncate(time.Second), 0
	}
	s.used++
	if len(s.limits) > 0 {
		l := s.limits[0]
		s.limits = s.limits[1:]
		limit = &l
	}
	return limit, max(rateLimitPerHour-s.used, 0), s.windowReset
}

func (s *Server) logRequest(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, At: time.Now()})
}

// repo wraps a handler of /repos/{owner}/{repo}/...: other repositories are
// not found. Owner and name are case-insensitive, as on GitHub.
func (s *Server) repo(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner")+"/"+r.PathValue("repo"), s.opts.Repository) {
			notFound(w)
			return
		}
		h(w, r)
	}
}

func (s *Server) getUser(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.user())
}

func (s *Server) user() *github.User {
	return &github.User{Login: github.String(s.opts.Login), ID: github.Int64(1), Type: github.String("Bot")}
}

// Requests returns every request answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
