package plan

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"sigs.k8s.io/yaml"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

// fleetFile lists a test fleet's installations, as gitopsd.yaml would.
const fleetFile = "fleet.yaml"

// loadFleet reads fleetFile: a list of {name, path, namespace, prune}.
func loadFleet(files fs.FS) ([]Spec, error) {
	data, err := fs.ReadFile(files, fleetFile)
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name, Path, Namespace string
		Prune                 *bool
	}
	if err := yaml.Unmarshal(data, &list); err != nil {
		return nil, &FileError{File: fleetFile, Line: 1, Message: err.Error()}
	}
	specs := make([]Spec, len(list))
	for i, l := range list {
		opts := apply.DefaultOptions()
		opts.Prune = l.Prune == nil || *l.Prune
		specs[i] = Spec{Name: l.Name, Path: l.Path, Namespace: l.Namespace, Apply: opts}
	}
	return specs, nil
}

// fixture plans against the test cluster with inventories in a namespace
// of the test's own.
type fixture struct {
	t       *testing.T
	ns      string
	manager *apply.Manager
	planner *Planner
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ns := env.Namespace(t)
	m, err := apply.NewManager(env.Config, inventory.NewStore(env.Client, ns), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Deps{Load: loadFleet, Renderer: render.NewRenderer(render.DefaultOptions(), nil), Differ: m})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ns: ns, manager: m, planner: p}
}

// snapshot is a commit of files; "NS" in them is the test's namespace.
func (f *fixture) snapshot(commit string, files map[string]string) source.Snapshot {
	repo := fstest.MapFS{}
	for name, data := range files {
		repo[name] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(data, "NS", f.ns))}
	}
	return source.Snapshot{URL: "https://example.com/fleet.git", Ref: "main", Commit: commit, Files: repo}
}

// apply applies each installation of snap, as the daemon would.
func (f *fixture) apply(snap source.Snapshot) {
	f.t.Helper()
	ctx := context.Background()
	specs, err := loadFleet(snap.Files)
	if err != nil {
		f.t.Fatal(err)
	}
	r := render.NewRenderer(render.DefaultOptions(), nil)
	for _, s := range specs {
		set, err := r.Render(ctx, snap.Files, snap.Commit, s.Path)
		if err != nil {
			f.t.Fatal(err)
		}
		cs, err := f.manager.Apply(ctx, apply.Request{Installation: s.Name, Namespace: s.Namespace, Commit: snap.Commit, Objects: set}, s.Apply)
		if err != nil || cs.Err() != nil {
			f.t.Fatalf("apply %s: %v %v", s.Name, err, cs.Err())
		}
	}
}

func (f *fixture) plan(req Request) *Plan {
	f.t.Helper()
	p, err := f.planner.Plan(context.Background(), req)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func configMap(name, data string) string {
	return "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: NS}\ndata: {" + data + "}\n"
}

// secret is a Secret of the given values, base64-encoded in data (keys
// removed from stringData would stay in data).
func secret(values map[string]string) string {
	var data []string
	for k, v := range values {
		data = append(data, k+": "+base64.StdEncoding.EncodeToString([]byte(v)))
	}
	return "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\ndata: {" + strings.Join(data, ", ") + "}\n"
}

// objects maps "Kind/name" to the installation's objects.
func objects(in Installation) map[string]Object {
	out := map[string]Object{}
	for _, o := range in.Objects {
		out[o.Kind+"/"+o.Name] = o
	}
	return out
}

func installation(t *testing.T, p *Plan, name string) Installation {
	t.Helper()
	for _, in := range p.Installations {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("the plan has no installation %s: %+v", name, p.Installations)
	return Installation{}
}

// TestPlanOfEveryKindOfChange applies a commit, then plans the next one:
// each way an object can change, the server's refusals, render errors with
// their file and line, and Secret values that never show.
func TestPlanOfEveryKindOfChange(t *testing.T) {
	f := newFixture(t)
	fleet := "- {name: web, path: web}\n- {name: broken, path: broken}\n- {name: badyaml, path: badyaml}\n"
	f.apply(f.snapshot("c1", map[string]string{
		fleetFile: "- {name: web, path: web}\n",
		"web/objects.yaml": configMap("settings", "k: v1") + configMap("same", "a: b") + configMap("gone", "a: b") +
			configMap("frozen", "a: b") + "immutable: true\n" + secret(map[string]string{"password": "first-value", "user": "admin", "old": "dropped-value"}),
	}))

	p := f.plan(Request{Head: f.snapshot("c2", map[string]string{
		fleetFile: fleet,
		"web/objects.yaml": configMap("settings", "k: v2") + configMap("same", "a: b") + configMap("new", "a: b") +
			configMap("frozen", "a: changed") + "immutable: true\n" + configMap("Not_Valid", "a: b") +
			secret(map[string]string{"password": "second-value", "user": "admin", "token": "added-value"}) +
			"---\napiVersion: v1\nkind: Secret\nmetadata: {name: fresh, namespace: NS}\nstringData: {token: fresh-value}\n",
		"broken/kustomization.yaml": "resources: [missing.yaml]\n",
		"badyaml/objects.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
	})})

	if p.Commit != "c2" || p.Base != "" || len(p.Installations) != 3 {
		t.Fatalf("plan: commit %q base %q, %d installations", p.Commit, p.Base, len(p.Installations))
	}
	web := installation(t, p, "web")
	got := objects(web)
	want := map[string]Action{
		"ConfigMap/settings": Change, "ConfigMap/new": Create, "ConfigMap/gone": Delete,
		"ConfigMap/frozen": Refuse, "ConfigMap/Not_Valid": Refuse, "Secret/creds": Change, "Secret/fresh": Create,
	}
	for key, action := range want {
		if got[key].Action != action {
			t.Errorf("%s: %q, want %q", key, got[key].Action, action)
		}
	}
	if len(got) != len(want) || web.Unchanged != 1 {
		t.Errorf("web: %d objects and %d unchanged, want %d and 1 (ConfigMap/same): %+v", len(got), web.Unchanged, len(want), web.Objects)
	}
	if last := web.Objects[len(web.Objects)-1]; last.Action != Delete {
		t.Errorf("prunes must come last, got %s last", last.Key())
	}
	settings := got["ConfigMap/settings"].Diff
	if !strings.Contains(settings, "-  k: v1") || !strings.Contains(settings, "+  k: v2") {
		t.Errorf("the change's diff:\n%s", settings)
	}
	for _, noise := range []string{"managedFields", "resourceVersion", "creationTimestamp", "uid:"} {
		if strings.Contains(settings, noise) {
			t.Errorf("the diff shows %s:\n%s", noise, settings)
		}
	}
	if r := got["ConfigMap/frozen"].Reason; !strings.Contains(r, "immutable") {
		t.Errorf("the immutable ConfigMap's reason: %q", r)
	}
	if r := got["ConfigMap/Not_Valid"].Reason; !strings.Contains(r, "Not_Valid") {
		t.Errorf("the invalid name's reason: %q", r)
	}
	wantKeys := []SecretKey{{Key: "old", Change: apply.KeyRemoved}, {Key: "password", Change: apply.KeyChanged}, {Key: "token", Change: apply.KeyAdded}}
	if keys := got["Secret/creds"].SecretKeys; !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("Secret keys = %+v, want %+v", keys, wantKeys)
	}
	if keys := got["Secret/fresh"].SecretKeys; !reflect.DeepEqual(keys, []SecretKey{{Key: "token", Change: apply.KeyAdded}}) {
		t.Errorf("the new Secret's keys = %+v, want token added", keys)
	}

	broken := installation(t, p, "broken")
	if e := broken.RenderError; e == nil || e.File != "broken/kustomization.yaml" || !strings.Contains(e.Message, "missing.yaml") {
		t.Errorf("missing resource: %+v", e)
	}
	bad := installation(t, p, "badyaml")
	if e := bad.RenderError; e == nil || e.File != "badyaml/objects.yaml" || e.Line != 3 {
		t.Errorf("bad YAML: %+v, want file badyaml/objects.yaml line 3", e)
	}

	s := p.Summary()
	if s.String() != "2 to create, 2 to change, 1 to delete, 1 unchanged, 2 refused, 2 render errors" || !s.Failed() || !s.Changes() {
		t.Errorf("summary: %s", s)
	}

	var text, js, md bytes.Buffer
	if err := WriteText(&text, p); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{
		"❌ **2 to create, 2 to change, 1 to delete, 1 unchanged, 2 refused, 2 render errors** at `c2`.",
		"| `web` | ❌ 2 refused | 2 | 2 | 1 | 1 |\n",
		"| `broken` | ❌ render error | | | | |\n",
		"- broken: render error in broken/kustomization.yaml: ",
		"- web: ConfigMap/" + f.ns + "/frozen refused: the change touches an immutable field",
		"<summary>➕ create <code>ConfigMap/" + f.ns + "/new</code></summary>",
		"<summary>✏️ change <code>Secret/" + f.ns + "/creds</code> · Secret keys: <code>old</code> removed, <code>password</code> changed, <code>token</code> added</summary>",
		"+  k: v2\n",
		"- 🗑️ delete <code>ConfigMap/" + f.ns + "/gone</code>\n",
	} {
		if !strings.Contains(md.String(), part) {
			t.Errorf("the Markdown plan has no %q:\n%s", part, md.String())
		}
	}
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"# web: 2 to create, 2 to change, 1 to delete, 1 unchanged, 2 refused\n",
		"# web: ConfigMap/" + f.ns + "/new would be created\n",
		"# web: Secret/" + f.ns + "/creds would be changed (Secret keys: old removed, password changed, token added)\n",
		"# web: ConfigMap/" + f.ns + "/gone would be pruned\n",
		"# web: ConfigMap/" + f.ns + "/frozen would be refused: ",
		"# broken: render error: broken/kustomization.yaml: ",
		"# badyaml: render error: badyaml/objects.yaml:3: ",
		"# plan of c2: 2 to create, 2 to change, 1 to delete, 1 unchanged, 2 refused, 2 render errors\n",
	} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("the text plan has no %q:\n%s", line, text.String())
		}
	}
	var decoded struct {
		Plan
		Summary Summary `json:"summary"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(decoded.Plan, *p) || decoded.Summary != s {
		t.Errorf("the JSON plan does not decode to the plan:\n%s", js.String())
	}
	if !strings.Contains(js.String(), `"secretKeys": [
            {
              "key": "old",
              "change": "removed"`) {
		t.Errorf("the JSON plan does not list the Secret's keys:\n%s", js.String())
	}
	for _, value := range []string{"first-value", "second-value", "added-value", "dropped-value", "admin", "fresh-value"} {
		for name, out := range map[string]string{"text": text.String(), "JSON": js.String(), "Markdown": md.String()} {
			if strings.Contains(out, value) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(value))) {
				t.Errorf("the %s plan shows the Secret value %q", name, value)
			}
		}
	}
}

// TestPlanAgainstABase keeps only what the head changes: an installation
// added, removed (its objects pruned), reconfigured or rendering otherwise.
func TestPlanAgainstABase(t *testing.T) {
	f := newFixture(t)
	baseFiles := map[string]string{
		fleetFile:        "- {name: same, path: same}\n- {name: edited, path: edited}\n- {name: moved, path: moved}\n- {name: retired, path: retired}\n",
		"same/a.yaml":    configMap("same", "a: b"),
		"edited/a.yaml":  configMap("edited", "a: b"),
		"moved/a.yaml":   configMap("moved", "a: b"),
		"retired/a.yaml": configMap("retired-1", "a: b") + configMap("retired-2", "a: b"),
	}
	base := f.snapshot("base", baseFiles)
	f.apply(base)
	headFiles := map[string]string{
		fleetFile:       "- {name: same, path: same}\n- {name: edited, path: edited}\n- {name: moved, path: moved, namespace: other}\n- {name: fresh, path: fresh}\n",
		"same/a.yaml":   configMap("same", "a: b"),
		"edited/a.yaml": configMap("edited", "a: changed"),
		"moved/a.yaml":  configMap("moved", "a: b"),
		"fresh/a.yaml":  configMap("fresh", "a: b"),
	}
	head := f.snapshot("head", headFiles)

	p := f.plan(Request{Head: head, Base: &base})
	if p.Base != "base" || !reflect.DeepEqual(p.Unaffected, []string{"same"}) {
		t.Errorf("base %q, unaffected %v, want base and [same]", p.Base, p.Unaffected)
	}
	var names []string
	for _, in := range p.Installations {
		names = append(names, in.Name+":"+string(in.Reason))
	}
	if want := []string{"edited:rerendered", "moved:reconfigured", "fresh:added", "retired:removed"}; !reflect.DeepEqual(names, want) {
		t.Errorf("installations %v, want %v", names, want)
	}
	if o := objects(installation(t, p, "edited")); o["ConfigMap/edited"].Action != Change {
		t.Errorf("edited: %+v", o)
	}
	if o := objects(installation(t, p, "fresh")); o["ConfigMap/fresh"].Action != Create {
		t.Errorf("fresh: %+v", o)
	}
	retired := objects(installation(t, p, "retired"))
	if len(retired) != 2 || retired["ConfigMap/retired-1"].Action != Delete || retired["ConfigMap/retired-2"].Action != Delete {
		t.Errorf("retired: %+v, want both ConfigMaps pruned", retired)
	}

	// One installation, by name, even one the head removes.
	p = f.plan(Request{Head: head, Base: &base, Installation: "retired"})
	if len(p.Installations) != 1 || p.Installations[0].Reason != Removed {
		t.Errorf("only retired: %+v", p.Installations)
	}
	if _, err := f.planner.Plan(context.Background(), Request{Head: head, Installation: "nope"}); err == nil || !strings.Contains(err.Error(), `no installation "nope"`) {
		t.Errorf("unknown installation: %v", err)
	}
}

func TestBrokenFleetFileIsInThePlan(t *testing.T) {
	f := newFixture(t)
	p := f.plan(Request{Head: f.snapshot("c1", map[string]string{fleetFile: "- {name: [\n"})})
	if p.ConfigError == nil || p.ConfigError.File != fleetFile || len(p.Installations) != 0 {
		t.Fatalf("plan of a broken fleet file: %+v", p)
	}
	if s := p.Summary(); !s.Failed() || s.RenderErrors != 1 {
		t.Errorf("summary: %+v", s)
	}
}

func TestNewRefusesMissingDeps(t *testing.T) {
	if _, err := New(Deps{Load: loadFleet, Renderer: render.NewRenderer(render.DefaultOptions(), nil)}); err == nil || !strings.Contains(err.Error(), "no differ") {
		t.Errorf("New without a differ: %v", err)
	}
}

// TestRefusedByOwnerAndRecreated: an installation another daemon applies
// is refused whole, naming its owner; an immutable change the object opts
// in to recreate is a change, not a refusal.
func TestRefusedByOwnerAndRecreated(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		fleetFile:       "- {name: theirs, path: theirs}\n- {name: ours, path: ours}\n",
		"theirs/a.yaml": configMap("theirs", "a: b"),
		"ours/a.yaml":   configMap("frozen", "a: b") + "immutable: true\n",
	}
	snap := f.snapshot("c1", files)
	ctx := context.Background()
	r := render.NewRenderer(render.DefaultOptions(), nil)
	for _, name := range []string{"theirs", "ours"} {
		set, err := r.Render(ctx, snap.Files, snap.Commit, name)
		if err != nil {
			t.Fatal(err)
		}
		source := "https://example.com/fleet.git@main"
		if name == "theirs" {
			source = "https://example.com/other-fleet.git@main"
		}
		cs, err := f.manager.Apply(ctx, apply.Request{Installation: name, Source: source, Commit: "c1", Objects: set}, apply.DefaultOptions())
		if err != nil || cs.Err() != nil {
			t.Fatalf("apply %s: %v %v", name, err, cs.Err())
		}
	}
	files["theirs/a.yaml"] = configMap("theirs", "a: changed")
	files["ours/a.yaml"] = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen, namespace: NS, annotations: {gitopsd.io/recreate: \"true\"}}\ndata: {a: changed}\nimmutable: true\n"
	p := f.plan(Request{Head: f.snapshot("c2", files), Source: "https://example.com/fleet.git@main"})

	theirs := installation(t, p, "theirs")
	if !strings.Contains(theirs.Refused, "//example.com/other-fleet@refs/heads/main") || len(theirs.Objects) != 0 {
		t.Errorf("another daemon's installation: refused %q, objects %+v", theirs.Refused, theirs.Objects)
	}
	frozen := objects(installation(t, p, "ours"))["ConfigMap/frozen"]
	if frozen.Action != Change || !strings.Contains(frozen.Diff, "created again") || !strings.Contains(frozen.Diff, "+  a: changed") {
		t.Errorf("recreated ConfigMap: %+v", frozen)
	}
	if s := p.Summary(); s.Refused != 1 || !s.Failed() {
		t.Errorf("summary %s", s)
	}
	if h := p.Headline(); !strings.HasPrefix(h, "theirs: refused: installation theirs belongs to the gitopsd following //example.com/other-fleet@refs/heads/main") {
		t.Errorf("headline %q", h)
	}
}
