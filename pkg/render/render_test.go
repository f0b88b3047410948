package render

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// TestGolden renders each testdata/golden/<case>/ and compares the output
// with testdata/golden/<case>.golden.yaml.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/golden/*")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(DefaultOptions(), nil)
	for _, dir := range cases {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			set, err := r.Render(context.Background(), os.DirFS(dir), "", ".")
			if err != nil {
				t.Fatal(err)
			}
			got, err := set.YAML()
			if err != nil {
				t.Fatal(err)
			}
			golden := dir + ".golden.yaml"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("render of %s differs from %s (run go test -update to accept):\n%s", dir, golden, got)
			}
		})
	}
}

func TestApplyOrderFollowsStages(t *testing.T) {
	set := mustRender(t, NewRenderer(DefaultOptions(), nil), os.DirFS("testdata/golden/stages"), ".")
	var got []string
	for _, o := range set.Objects {
		got = append(got, o.GetKind())
	}
	want := "CustomResourceDefinition Namespace ClusterRole ClusterRoleBinding ServiceAccount Deployment Widget"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %s, want %s", strings.Join(got, " "), want)
	}
}

func TestDigestsAreStableAndSensitive(t *testing.T) {
	repo := fstest.MapFS{"cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v, x: y}\n")}}
	a := mustRender(t, NewRenderer(DefaultOptions(), nil), repo, ".")
	repo["cm.yaml"] = &fstest.MapFile{Data: []byte("kind: ConfigMap\napiVersion: v1\ndata: {x: y, k: v}\nmetadata: {name: a}\n")}
	b := mustRender(t, NewRenderer(DefaultOptions(), nil), repo, ".")
	if a.Digest != b.Digest || a.Objects[0].Digest != b.Objects[0].Digest {
		t.Error("reordering keys changed the digest")
	}
	repo["cm.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v, x: z}\n")}
	c := mustRender(t, NewRenderer(DefaultOptions(), nil), repo, ".")
	if a.Digest == c.Digest || a.Objects[0].Digest == c.Objects[0].Digest {
		t.Error("changing a value kept the digest")
	}
}

func TestErrorsNameTheFile(t *testing.T) {
	deploy := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
	tests := []struct {
		name string
		repo fstest.MapFS
		dir  string
		want []string
	}{
		{"malformed yaml in plain dir", fstest.MapFS{
			"app/ok.yaml":  {Data: []byte(deploy)},
			"app/bad.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: [\n")},
		}, "app", []string{"app/bad.yaml:5", "invalid YAML"}},
		{"not an object", fstest.MapFS{"app/x.yaml": {Data: []byte("hello: world\n")}},
			"app", []string{"app/x.yaml:1", "apiVersion and kind are required"}},
		{"duplicate field", fstest.MapFS{"app/x.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: a}\n")}},
			"app", []string{"app/x.yaml", "kind"}},
		{"malformed kustomization", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("resources: [\n")}},
			"app", []string{"app", "kustomization"}},
		{"unknown kustomization field", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("resourcez: [a.yaml]\n")}},
			"app", []string{"app", "resourcez"}},
		{"missing resource file", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("resources: [missing.yaml]\n")}},
			"app", []string{"app", "missing.yaml"}},
		{"outside the kustomization root", fstest.MapFS{
			"app/kustomization.yaml": {Data: []byte("resources: [../shared/cm.yaml]\n")},
			"shared/cm.yaml":         {Data: []byte(deploy)},
		}, "app", []string{"app", "shared/cm.yaml", "is not in or below"}},
		{"path outside the repository", fstest.MapFS{"app/x.yaml": {Data: []byte(deploy)}},
			"../etc", []string{"../etc", "outside the repository"}},
		{"remote base", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("resources:\n  - github.com/example/fleet//base?ref=v1\n")}},
			"app", []string{"app/kustomization.yaml", `remote resource "github.com/example/fleet//base?ref=v1" is not allowed`}},
		{"remote https resource", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("resources:\n  - https://example.com/manifest.yaml\n")}},
			"app", []string{"app/kustomization.yaml", "remote resource"}},
		{"remote base in a base", fstest.MapFS{
			"app/kustomization.yaml":  {Data: []byte("resources: [../base]\n")},
			"base/kustomization.yaml": {Data: []byte("resources: [git@github.com:example/fleet.git]\n")},
		}, "app", []string{"base/kustomization.yaml", "remote resource"}},
		{"helm chart", fstest.MapFS{"app/kustomization.yaml": {Data: []byte("helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n")}},
			"app", []string{"app/kustomization.yaml", "helmCharts are not enabled"}},
		{"duplicate object", fstest.MapFS{
			"app/a.yaml": {Data: []byte(deploy)},
			"app/b.yaml": {Data: []byte(deploy)},
		}, "app", []string{"ConfigMap/web is defined twice: in app/a.yaml and in app/b.yaml"}},
		{"duplicate object in kustomization", fstest.MapFS{
			"app/kustomization.yaml": {Data: []byte("resources: [a.yaml, b.yaml]\n")},
			"app/a.yaml":             {Data: []byte(deploy)},
			"app/b.yaml":             {Data: []byte(deploy)},
		}, "app", []string{"app", "web"}},
		{"generateName", fstest.MapFS{"app/a.yaml": {Data: []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n")}},
			"app", []string{"app/a.yaml", "generateName"}},
		{"secret value not a string", fstest.MapFS{"app/s.yaml": {Data: []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {pin: 987654321}\n")}},
			"app", []string{"app/s.yaml", "stringData.pin must be a string"}},
		{"missing directory", fstest.MapFS{"app/a.yaml": {Data: []byte(deploy)}},
			"nope", []string{"nope: directory does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRenderer(DefaultOptions(), nil).Render(context.Background(), tt.repo, "", tt.dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !IsRenderError(err) {
				t.Errorf("%T is not a *render.Error: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSymlinks(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n")
	write(t, repo, "base/kustomization.yaml", "resources: [cm.yaml]\n")
	write(t, repo, "inside/kustomization.yaml", "resources: [linked-base]\n")
	symlink(t, "../base", filepath.Join(repo, "inside/linked-base"))
	write(t, repo, "escape/kustomization.yaml", "resources: [passwd.yaml]\n")
	symlink(t, "/etc/passwd", filepath.Join(repo, "escape/passwd.yaml"))
	write(t, repo, "escape-plain/ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
	symlink(t, "../../outside.yaml", filepath.Join(repo, "escape-plain/secret.yaml"))

	r := NewRenderer(DefaultOptions(), nil)
	set := mustRender(t, r, os.DirFS(repo), "inside")
	if len(set.Objects) != 1 || set.Objects[0].GetName() != "shared" {
		t.Errorf("symlinked base rendered %d objects", len(set.Objects))
	}
	for _, dir := range []string{"escape", "escape-plain"} {
		_, err := r.Render(context.Background(), os.DirFS(repo), "", dir)
		if err == nil || !strings.Contains(err.Error(), "outside the repository") || !strings.Contains(err.Error(), dir+"/") {
			t.Errorf("render %s: error %v, want a symlink outside the repository named", dir, err)
		}
	}
}

func TestCacheServesSameCommit(t *testing.T) {
	repo := fstest.MapFS{"app/kustomization.yaml": {Data: []byte("configMapGenerator: [{name: c, literals: [a=b]}]\n")}}
	r := NewRenderer(DefaultOptions(), nil)
	first := mustRenderAt(t, r, repo, "c0ffee", "app")
	// A cached result comes back without reading the repository again.
	repo["app/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources: [gone.yaml]\n")}
	again := mustRenderAt(t, r, repo, "c0ffee", "app")
	if again.Digest != first.Digest || len(again.Objects) != 1 {
		t.Error("the same commit and path rendered again instead of coming from the cache")
	}
	p1, _ := first.Pack()
	p2, _ := again.Pack()
	if p1 != p2 {
		t.Error("two renders of one commit and path pack to two sets: the cache holds a copy per render")
	}
	if _, err := r.Render(context.Background(), repo, "beef", "app"); err == nil {
		t.Error("a new commit was served from the cache")
	}
}

// TestConcurrentRenders renders several installations of one commit at once;
// run it with -race.
func TestConcurrentRenders(t *testing.T) {
	repo := fstest.MapFS{}
	for i := range 8 {
		repo[fmt.Sprintf("apps/app%d/kustomization.yaml", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"namePrefix: app%d-\nconfigMapGenerator: [{name: settings, literals: [n=%d]}]\nresources: [../../base]\n", i, i))}
	}
	repo["base/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources: [svc.yaml]\n")}
	repo["base/svc.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")}
	r := NewRenderer(DefaultOptions(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for round := range 4 {
		for i := range 8 {
			wg.Go(func() {
				set, err := r.Render(context.Background(), repo, fmt.Sprintf("commit%d", round), fmt.Sprintf("apps/app%d", i))
				if err == nil && (len(set.Objects) != 2 || !strings.HasPrefix(set.Objects[0].GetName(), fmt.Sprintf("app%d-", i))) {
					err = fmt.Errorf("app%d rendered %d objects", i, len(set.Objects))
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func mustRender(t *testing.T, r *Renderer, repo fs.FS, dir string) *ObjectSet {
	t.Helper()
	return mustRenderAt(t, r, repo, "", dir)
}

func mustRenderAt(t *testing.T, r *Renderer, repo fs.FS, commit, dir string) *ObjectSet {
	t.Helper()
	set, err := r.Render(context.Background(), repo, commit, dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func write(t *testing.T, root, name, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
