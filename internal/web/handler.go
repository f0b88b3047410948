package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/plancheck"
)

//go:embed templates static
var files embed.FS

// Options tune the pages.
type Options struct {
	// Refresh is how often a page with JavaScript fetches itself again.
	Refresh time.Duration
}

// DefaultOptions refreshes every two seconds.
func DefaultOptions() Options { return Options{Refresh: 2 * time.Second} }

// Validate checks the options.
func (o Options) Validate() error {
	if o.Refresh < 100*time.Millisecond {
		return fmt.Errorf("web: Refresh %s: at least 100ms", o.Refresh)
	}
	return nil
}

// Deps are what the pages show.
type Deps struct {
	// Status is the daemon's state now; it is called once per request.
	Status func() Status
	// Plan returns an open pull request's plan check with its plan, the
	// value GET /api/v1/plans/NUMBER serves; nil when the daemon does not
	// plan pull requests.
	Plan func(number int) (plancheck.Pull, bool)
}

// handler serves one status value as JSON and as HTML.
type handler struct {
	status func() Status
	plan   func(number int) (plancheck.Pull, bool)
	opts   Options
	pages  map[string]*template.Template
	assets map[string]string // file name → its URL with a content hash
}

// Register adds the status routes to mux: the pages (GET /,
// /installations/NAME, /plans/NUMBER), their assets (/static/), and the
// JSON API (/api/v1/installations[/NAME]).
func Register(mux *http.ServeMux, deps Deps, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if deps.Status == nil {
		return errors.New("web: a status function is required")
	}
	h := &handler{status: deps.Status, plan: deps.Plan, opts: opts}
	if err := h.load(); err != nil {
		return err
	}
	mux.HandleFunc("GET /{$}", h.fleet)
	mux.HandleFunc("GET /installations/{name}", h.installation)
	mux.HandleFunc("GET /plans/{number}", h.pullRequest)
	mux.HandleFunc("GET /api/v1/installations", h.statusJSON)
	mux.HandleFunc("GET /api/v1/installations/{name}", h.installationJSON)
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheable(http.FileServerFS(static))))
	return nil
}

// load parses the pages and names each asset by its content, so that a
// browser may keep it until the daemon serves another.
func (h *handler) load() error {
	h.assets = map[string]string{}
	entries, err := files.ReadDir("static")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h.assets[e.Name()] = "/static/" + e.Name() + "?v=" + hex.EncodeToString(sum[:6])
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			if u, ok := h.assets[name]; ok {
				return u, nil
			}
			return "", fmt.Errorf("no asset %q", name)
		},
		"lower":     strings.ToLower,
		"kindName":  kindName,
		"diffLines": diffLines,
		"planOf":    planOf,
		"blueGreen": blueGreenOf,
	}
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"fleet", "installation", "plan"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: parse %s page: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

func (h *handler) fleet(w http.ResponseWriter, _ *http.Request) {
	s := h.status()
	h.render(w, http.StatusOK, "fleet", newPage(&s, time.Now(), h.opts.Refresh))
}

func (h *handler) installation(w http.ResponseWriter, r *http.Request) {
	s := h.status()
	p := newPage(&s, time.Now(), h.opts.Refresh)
	p.forInstallation(r.PathValue("name"))
	code := http.StatusOK
	if p.Installation == nil {
		code = http.StatusNotFound
	}
	h.render(w, code, "installation", p)
}

// pullRequest serves the page of an open pull request's plan check: its
// whole plan, however long.
func (h *handler) pullRequest(w http.ResponseWriter, r *http.Request) {
	s := h.status()
	p := newPage(&s, time.Now(), h.opts.Refresh)
	number, err := strconv.Atoi(r.PathValue("number"))
	if err == nil && number > 0 && h.plan != nil {
		if pull, ok := h.plan(number); ok {
			p.forPull(&pull)
			h.render(w, http.StatusOK, "plan", p)
			return
		}
	}
	p.forMissingPull(r.PathValue("number"), h.plan != nil)
	h.render(w, http.StatusNotFound, "plan", p)
}

// render writes a page, or a plain error should the template fail: a
// half-written page would look like a real one.
func (h *handler) render(w http.ResponseWriter, code int, name string, p *page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "render "+name+" page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	// Only the page's own assets run, and nothing can frame it.
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (h *handler) statusJSON(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.status())
}

func (h *handler) installationJSON(w http.ResponseWriter, r *http.Request) {
	s := h.status()
	name := r.PathValue("name")
	in, ok := s.Installation(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no installation %q", name)})
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// cacheable lets a browser keep an asset a day: its URL changes with its
// content.
func cacheable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
