package render

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// remoteServer serves a ConfigMap manifest at every path and counts the
// requests; fail makes its next answers 500s.
type remoteServer struct {
	*httptest.Server
	requests atomic.Int64
	fail     atomic.Int64
}

func newRemoteServer(t *testing.T) *remoteServer {
	s := &remoteServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.fail.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, configMap, "remote")
	}))
	t.Cleanup(s.Close)
	return s
}

// TestRemoteContentIsRefused names a remote URL in every kustomization
// field that takes a path: with remote loading off, the render fails naming
// the kustomization and the URL, and nothing is requested.
func TestRemoteContentIsRefused(t *testing.T) {
	srv := newRemoteServer(t)
	url := srv.URL + "/remote.yaml"
	fakeHelm(t)
	fields := map[string]string{
		"resources":                   "resources: [%s]",
		"bases":                       "bases: [%s]",
		"components":                  "components: [%s]",
		"generators":                  "generators: [%s]",
		"transformers":                "transformers: [%s]",
		"validators":                  "validators: [%s]",
		"crds":                        "crds: [%s]",
		"configurations":              "configurations: [%s]",
		"openapi path":                "openapi: {path: %s}",
		"patches path":                "patches: [{path: %s}]",
		"patchesStrategicMerge":       "patchesStrategicMerge: [%s]",
		"patchesJson6902 path":        "patchesJson6902: [{target: {version: v1, kind: ConfigMap, name: local}, path: %s}]",
		"replacements path":           "replacements: [{path: %s}]",
		"configMapGenerator files":    "configMapGenerator: [{name: c, files: [%s]}]",
		"configMapGenerator envs":     "configMapGenerator: [{name: c, envs: [%s]}]",
		"configMapGenerator env":      "configMapGenerator: [{name: c, env: %s}]",
		"secretGenerator files":       "secretGenerator: [{name: s, files: [key=%s]}]",
		"secretGenerator envs":        "secretGenerator: [{name: s, envs: [%s]}]",
		"helmCharts valuesFile":       "helmCharts: [{name: chart, valuesFile: %s}]",
		"helmCharts additionalValues": "helmCharts: [{name: chart, additionalValuesFiles: [%s]}]",
		"helmChartInflationGenerator": "helmChartInflationGenerator: [{chartName: chart, values: %s}]",
	}
	for field, line := range fields {
		t.Run(field, func(t *testing.T) {
			before := srv.requests.Load()
			repo := fstest.MapFS{
				"app/kustomization.yaml":             file("resources: [local.yaml]\n" + fmt.Sprintf(line, url) + "\n"),
				"app/local.yaml":                     file(fmt.Sprintf(configMap, "local")),
				"app/charts/chart/Chart.yaml":        file("name: chart\nversion: 1.0.0\n"),
				"app/charts/chart/templates/cm.yaml": file(fmt.Sprintf(configMap, "from-chart")),
			}
			for _, opts := range []Options{DefaultOptions(), {AllowHelm: true}} {
				_, err := NewRenderer(opts, nil).Render(context.Background(), repo, "", "app")
				want := fmt.Sprintf("app/kustomization.yaml: remote resource %q is not allowed", url)
				if strings.HasPrefix(field, "helm") && !opts.AllowHelm {
					want = "app/kustomization.yaml: helmCharts are not enabled"
				}
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("with %+v: error %v, want %q", opts, err, want)
				}
			}
			if n := srv.requests.Load() - before; n != 0 {
				t.Errorf("the server saw %d requests", n)
			}
		})
	}
}

// TestRemoteRefusalNamesTheFile finds the URL where kustomize found it: in
// a base, or in a transformer's configuration file.
func TestRemoteRefusalNamesTheFile(t *testing.T) {
	srv := newRemoteServer(t)
	url := srv.URL + "/patch.yaml"
	repo := fstest.MapFS{
		"app/kustomization.yaml":    file("resources: [../base]\ntransformers: [patch.yaml]\n"),
		"app/patch.yaml":            file("apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "\n"),
		"base/kustomization.yaml":   file("resources: [cm.yaml]\n"),
		"base/cm.yaml":              file(fmt.Sprintf(configMap, "base")),
		"nested/kustomization.yaml": file("resources: [../base2]\n"),
		"base2/kustomization.yaml":  file("resources: [git@github.com:example/fleet.git, " + url + "]\n"),
	}
	for dir, want := range map[string]string{
		"app":    fmt.Sprintf("app/patch.yaml: remote resource %q is not allowed", url),
		"nested": `base2/kustomization.yaml: remote resource "git@github.com:example/fleet.git" is not allowed`,
	} {
		_, err := NewRenderer(DefaultOptions(), nil).Render(context.Background(), repo, "", dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("render %s: error %v, want %q", dir, err, want)
		}
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("the server saw %d requests", n)
	}
}

// TestRemoteContentWhenAllowed fetches a remote resource; a failed fetch is
// not cached: the next render of the same commit tries again.
func TestRemoteContentWhenAllowed(t *testing.T) {
	srv := newRemoteServer(t)
	repo := fstest.MapFS{"app/kustomization.yaml": file("resources: [" + srv.URL + "/cm.yaml]\n")}
	r := NewRenderer(Options{AllowRemote: true}, nil)
	srv.fail.Store(1)
	_, err := r.Render(context.Background(), repo, "c0ffee", "app")
	if err == nil || IsRenderError(err) {
		t.Fatalf("failed fetch: error %v (%T), want an error that is not the content's", err, err)
	}
	set := mustRenderAt(t, r, repo, "c0ffee", "app")
	if len(set.Objects) != 1 || set.Objects[0].GetName() != "remote" {
		t.Errorf("rendered %d objects", len(set.Objects))
	}
	if n := srv.requests.Load(); n != 2 {
		t.Errorf("the server saw %d requests, want 2", n)
	}
}

func TestIsRemote(t *testing.T) {
	for entry, want := range map[string]bool{
		"https://example.com/x.yaml":        true,
		"HTTP://example.com/x.yaml":         true,
		"git::https://example.com/org/repo": true,
		"ssh://git@example.com/org/repo":    true,
		"file:///srv/repo":                  true,
		"git@github.com:org/repo":           true,
		"github.com/org/repo//base?ref=v1":  true,
		"../base":                           false,
		"base/deployment.yaml":              false,
		"example.com/base":                  false, // kustomize reads it as a local path
		"apiVersion: builtin\nkind: PatchTransformer\npath: https://x": false,
	} {
		if got := isRemote(entry); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", entry, got, want)
		}
	}
}

// TestHelmChartsFromTheRepository inflates a chart kept in the repository
// with a stand-in helm binary, which reads the chart where kustomize says.
func TestHelmChartsFromTheRepository(t *testing.T) {
	fakeHelm(t)
	repo := fstest.MapFS{
		"app/kustomization.yaml":             file("helmCharts: [{name: chart, releaseName: web}]\n"),
		"app/charts/chart/Chart.yaml":        file("name: chart\nversion: 1.0.0\n"),
		"app/charts/chart/values.yaml":       file("a: b\n"),
		"app/charts/chart/templates/cm.yaml": file(fmt.Sprintf(configMap, "from-chart")),
	}
	set := mustRender(t, NewRenderer(Options{AllowHelm: true}, nil), repo, "app")
	if len(set.Objects) != 1 || set.Objects[0].GetName() != "from-chart" {
		t.Errorf("rendered %d objects", len(set.Objects))
	}
}

// fakeHelm puts a helm on PATH that prints its version and, for template,
// the chart's templates as they are.
func fakeHelm(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.16.0; exit 0; fi\ncat \"$3\"/templates/*.yaml\n"
	if err := os.WriteFile(filepath.Join(dir, "helm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestOtherRequestsPassDuringABuild: only kustomize's requests are the
// build's business; the rest of the process keeps its network.
func TestOtherRequestsPassDuringABuild(t *testing.T) {
	srv := newRemoteServer(t)
	running.Store(newBuild(fstest.MapFS{}, "app/kustomization.yaml", DefaultOptions()))
	defer running.Store(nil)
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("a request made during a build, not by kustomize: %v", err)
	}
	res.Body.Close()
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("the server saw %d requests, want 1", n)
	}
}
