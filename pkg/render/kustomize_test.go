package render

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
)

// panicky makes kustomize's name reference transformer panic: a name with a
// comma breaks the comma-separated list of previous names that namePrefix
// keeps (as a SOPS-encrypted manifest does).
var panicky = fstest.MapFS{
	"bad/kustomization.yaml":  {Data: []byte("namePrefix: p-\nresources: [cm.yaml]\n")},
	"bad/cm.yaml":             {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a,b\n")},
	"good/kustomization.yaml": {Data: []byte("namePrefix: p-\nconfigMapGenerator: [{name: c, literals: [a=b]}]\n")},
}

func TestKustomizePanicFailsOnlyThatRender(t *testing.T) {
	r := NewRenderer(DefaultOptions(), nil)
	for range 2 { // the build's turn is given back: the next one runs
		_, err := r.Render(context.Background(), panicky, "", "bad")
		if err == nil || !strings.Contains(err.Error(), "bad/kustomization.yaml: kustomize panicked: ") {
			t.Fatalf("render of the panicking kustomization: %v", err)
		}
		if !IsRenderError(err) {
			t.Errorf("a panic caused by the content is not a content error: %T", err)
		}
	}
	if set := mustRenderAt(t, r, panicky, "c2", "good"); len(set.Objects) != 1 {
		t.Errorf("after a panic the renderer rendered %d objects, want 1", len(set.Objects))
	}
}

func TestKustomizeWarningsGoToTheLogger(t *testing.T) {
	repo := fstest.MapFS{
		"app/kustomization.yaml": {Data: []byte("commonLabels: {team: a}\nresources: [cm.yaml]\n")},
		"app/cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")},
	}
	var logs bytes.Buffer
	r := NewRenderer(DefaultOptions(), slog.New(slog.NewTextHandler(&logs, nil)))
	mustRender(t, r, repo, "app")
	if !strings.Contains(logs.String(), `level=WARN msg="kustomize warning" file=app/kustomization.yaml warning="'commonLabels' is deprecated`) {
		t.Errorf("the deprecation warning was not logged:\n%s", logs.String())
	}
}

func TestSameObjectAtTwoVersions(t *testing.T) {
	v1 := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
	v2 := "apiVersion: example.com/v2\nkind: Widget\nmetadata: {name: w}\n"
	for name, repo := range map[string]fstest.MapFS{
		"kustomization": {
			"app/kustomization.yaml": {Data: []byte("resources: [samples/v1.yaml, samples/v2.yaml]\n")},
			"app/samples/v1.yaml":    {Data: []byte(v1)},
			"app/samples/v2.yaml":    {Data: []byte(v2)},
		},
		"plain": {"app/v1.yaml": {Data: []byte(v1)}, "app/v2.yaml": {Data: []byte(v2)}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewRenderer(DefaultOptions(), nil).Render(context.Background(), repo, "", "app")
			var dup *duplicateError
			if !errors.As(err, &dup) {
				t.Fatalf("error %v, want one object defined twice", err)
			}
			dir := "app/"
			if name == "kustomization" {
				dir = "app/samples/"
			}
			for _, want := range []string{"example.com/v1 in " + dir + "v1.yaml", "example.com/v2 in " + dir + "v2.yaml"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestErrorPathsAreRepositoryRelative(t *testing.T) {
	repo := fstest.MapFS{
		"apps/web/kustomization.yaml":  {Data: []byte("resources: [../base, missing.yaml]\n")},
		"apps/base/kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")},
		"apps/base/cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")},
	}
	_, err := NewRenderer(DefaultOptions(), nil).Render(context.Background(), repo, "", "apps/web")
	if err == nil || !strings.Contains(err.Error(), "'apps/web/missing.yaml'") {
		t.Fatalf("error %v does not name apps/web/missing.yaml", err)
	}
	if strings.Contains(err.Error(), "'/") || strings.Contains(err.Error(), virtualRoot) {
		t.Errorf("error names an absolute path: %v", err)
	}
}
