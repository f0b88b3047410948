package plancheck

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/gittest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/github/githubtest"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	gogithub "github.com/google/go-github/v57/github"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

const webhookSecret = "plancheck-webhook-secret"

// fixture is a fleet repository served by git http-backend, applied to
// the test cluster at main in a namespace of the test's own, a githubtest
// fake of GitHub, and a Checker wired to them as the daemon wires it.
type fixture struct {
	t       *testing.T
	ns      string
	repo    *gittest.Repo
	repoURL string
	source  string
	poller  *source.Poller
	manager *apply.Manager
	gh      *githubtest.Server
	client  *github.Client
	checker *Checker
	router  *github.Router
	main    string // main's commit
	pulls   int    // pull requests opened
}

// newFixture commits files (with "NS" replaced by the namespace) on main,
// applies them and starts a checker; change adjusts its options and deps.
func newFixture(t *testing.T, files map[string]string, change func(*fixture, *Options, *Deps)) *fixture {
	t.Helper()
	f := &fixture{t: t, ns: env.Namespace(t)}
	root := t.TempDir()
	srv, err := gittest.NewServer(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if f.repo, err = gittest.NewRepo(root, "fleet"); err != nil {
		t.Fatal(err)
	}
	f.repoURL = srv.URL + "/fleet.git"
	f.source = f.repoURL + "@main"
	f.main = f.commit("main", "the fleet", files)

	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir = f.repoURL, t.TempDir()
	if f.poller, err = source.NewPoller(opts, nil, nil); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if f.manager, err = apply.NewManager(env.Config, inventory.NewStore(env.Client, f.ns), log); err != nil {
		t.Fatal(err)
	}
	f.applyMain()

	f.gh = githubtest.NewServer(githubtest.Options{})
	t.Cleanup(f.gh.Close)
	gopts := github.DefaultOptions()
	gopts.APIURL, gopts.Repository, gopts.WriteSpacing = f.gh.URL, f.gh.Repository(), 0
	gopts.TokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(gopts.TokenFile, []byte(f.gh.Token()), 0o600); err != nil {
		t.Fatal(err)
	}
	if f.client, err = github.NewClient(gopts, github.Deps{Log: log}); err != nil {
		t.Fatal(err)
	}

	copts := DefaultOptions()
	copts.Branch, copts.Repository, copts.Source, copts.Interval = "main", f.repoURL, f.source, time.Hour
	deps := Deps{GitHub: f.client, Fetcher: f.poller, Base: f.poller,
		Planner: f.planner(render.Options{}), ForkPlanner: f.planner(render.Options{}), Log: log}
	if change != nil {
		change(f, &copts, &deps)
	}
	if f.checker, err = New(copts, deps); err != nil {
		t.Fatal(err)
	}
	ropts := github.DefaultRouterOptions()
	ropts.SecretFile = filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(ropts.SecretFile, []byte(webhookSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	if f.router, err = github.NewRouter(ropts, github.RouterDeps{Sources: []github.Source{f.poller}, PullRequests: f.checker, Log: log}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.checker.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// planner plans with its own renderer, as the daemon's plan module does.
func (f *fixture) planner(opts render.Options) *plan.Planner {
	f.t.Helper()
	p, err := plan.New(plan.Deps{Load: loadConfig, Renderer: render.NewRenderer(opts, nil), Differ: f.manager})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// loadConfig reads gitopsd.yaml as the daemon does.
func loadConfig(files fs.FS) ([]plan.Spec, error) {
	cfg, err := config.Load(files, "fleet")
	var ce *config.Error
	if errors.As(err, &ce) {
		return nil, &plan.FileError{File: ce.File, Line: ce.Line, Message: ce.Err.Error()}
	}
	if err != nil {
		return nil, err
	}
	specs := make([]plan.Spec, len(cfg.Installations))
	for i, in := range cfg.Installations {
		specs[i] = plan.Spec{Name: in.Name, Path: in.Path, Namespace: in.Namespace, Apply: reconcile.ApplyOptions(apply.DefaultOptions(), in)}
	}
	return specs, nil
}

// commit commits files on branch ("NS" is the namespace) and returns the
// commit.
func (f *fixture) commit(branch, msg string, files map[string]string) string {
	f.t.Helper()
	replaced := map[string]string{}
	for name, data := range files {
		replaced[name] = strings.ReplaceAll(data, "NS", f.ns)
	}
	sha, err := f.repo.Commit(branch, msg, replaced)
	if err != nil {
		f.t.Fatal(err)
	}
	return sha
}

// applyMain polls main and applies every installation, as the daemon would.
func (f *fixture) applyMain() {
	f.t.Helper()
	ctx := context.Background()
	snap, err := f.poller.Poll(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	specs, err := loadConfig(snap.Files)
	if err != nil {
		f.t.Fatal(err)
	}
	r := render.NewRenderer(render.DefaultOptions(), nil)
	for _, s := range specs {
		set, err := r.Render(ctx, snap.Files, snap.Commit, s.Path)
		if err != nil {
			f.t.Fatal(err)
		}
		f.apply(apply.Request{Installation: s.Name, Namespace: s.Namespace, Source: f.source, Commit: snap.Commit, Objects: set}, s.Apply)
	}
}

func (f *fixture) apply(req apply.Request, opts apply.Options) {
	f.t.Helper()
	cs, err := f.manager.Apply(context.Background(), req, opts)
	if err == nil {
		err = cs.Err()
	}
	if err != nil {
		f.t.Fatalf("apply %s: %v", req.Installation, err)
	}
}

// applyAs applies plain YAML as installation name of another source, as
// another daemon would.
func (f *fixture) applyAs(name, source, objects string) {
	f.t.Helper()
	set, err := render.NewRenderer(render.DefaultOptions(), nil).Render(context.Background(), fstest.MapFS{
		"objects.yaml": {Data: []byte(strings.ReplaceAll(objects, "NS", f.ns))},
	}, "", ".")
	if err != nil {
		f.t.Fatal(err)
	}
	f.apply(apply.Request{Installation: name, Namespace: f.ns, Source: source, Objects: set}, apply.DefaultOptions())
}

// openPR commits files on branch, points refs/pull/N/head at it and opens
// the pull request on the fake; no webhook is sent.
func (f *fixture) openPR(branch string, files map[string]string, change func(*githubtest.PR)) *gogithub.PullRequest {
	f.t.Helper()
	head := f.commit(branch, "change "+branch, files)
	f.pulls++
	in := githubtest.PR{Number: f.pulls, HeadRef: branch, HeadSHA: head, BaseRef: "main", BaseSHA: f.main}
	if change != nil {
		change(&in)
	}
	// GitHub makes the ref as it opens the pull request.
	if err := f.repo.SetRef(fmt.Sprintf("refs/pull/%d/head", in.Number), head); err != nil {
		f.t.Fatal(err)
	}
	pr, err := f.gh.OpenPR(in)
	if err != nil {
		f.t.Fatal(err)
	}
	return pr
}

// push commits files on the pull request's branch, moves its head and
// returns the pull request as GitHub then shows it.
func (f *fixture) push(number int, files map[string]string) *gogithub.PullRequest {
	f.t.Helper()
	pr, _ := f.gh.PullRequest(number)
	head := f.commit(pr.GetHead().GetRef(), "push to "+pr.GetHead().GetRef(), files)
	if err := f.repo.SetRef(fmt.Sprintf("refs/pull/%d/head", number), head); err != nil {
		f.t.Fatal(err)
	}
	if err := f.gh.PushHead(number, head); err != nil {
		f.t.Fatal(err)
	}
	pr, _ = f.gh.PullRequest(number)
	return pr
}

// deliver sends GitHub's pull_request webhook for pr, signed with secret,
// to the router and returns the HTTP status.
func (f *fixture) deliver(action string, pr *gogithub.PullRequest, secret string) int {
	f.t.Helper()
	body, err := json.Marshal(map[string]any{
		"action": action, "number": pr.GetNumber(), "pull_request": pr,
		"repository": map[string]any{"full_name": f.gh.Repository(), "clone_url": f.repoURL},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	f.router.ServeHTTP(rec, req)
	return rec.Code
}

// states lists the states posted on sha in this checker's context.
func (f *fixture) states(sha string) []string {
	var out []string
	for _, s := range f.gh.Statuses(sha) {
		if s.GetContext() == f.checker.opts.StatusContext() {
			out = append(out, s.GetState())
		}
	}
	return out
}

// waitStatus waits until sha's last status in this context is final
// (not pending) and returns it.
func (f *fixture) waitStatus(sha string) *gogithub.RepoStatus {
	f.t.Helper()
	return f.waitStatusFor(sha, time.Minute)
}

func (f *fixture) waitStatusFor(sha string, timeout time.Duration) *gogithub.RepoStatus {
	f.t.Helper()
	var last *gogithub.RepoStatus
	daemontest.Eventually(f.t, timeout, "a final status on "+sha[:12], func() bool {
		list := f.gh.Statuses(sha)
		if len(list) == 0 || list[len(list)-1].GetState() == "pending" {
			return false
		}
		last = list[len(list)-1]
		return true
	})
	return last
}

// comments returns the pull request's comments.
func (f *fixture) comments(number int) []*gogithub.IssueComment { return f.gh.Comments(number) }

func configMap(name, data string) string {
	return "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: NS}\ndata: {" + data + "}\n"
}

func secret(password string) string {
	return "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\nstringData: {password: " + password + "}\n"
}
