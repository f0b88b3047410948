package app

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/config"
	"k8s.io/apimachinery/pkg/util/yaml"
	"os"
)

const exampleRepo = "../../examples/repo"

// TestRenderMatchesKustomizeBuild renders each installation of
// examples/repo and compares the objects with those of `kubectl kustomize`
// (kustomize built into kubectl) or, for plain YAML, with the files.
func TestRenderMatchesKustomizeBuild(t *testing.T) {
	cfg, err := config.Load(os.DirFS(exampleRepo), "repo")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Installations) < 3 {
		t.Fatalf("examples/repo has %d installations, want at least 3", len(cfg.Installations))
	}
	for _, inst := range cfg.Installations {
		t.Run(inst.Name, func(t *testing.T) {
			out, stderr, code := gitopsd(t, "render", "--dir", exampleRepo, "--installation", inst.Name)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.HasPrefix(out, "# installation: "+inst.Name) {
				t.Errorf("output does not start by naming the installation: %.60q", out)
			}
			dir := filepath.Join(exampleRepo, inst.Path)
			var want []byte
			if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err == nil {
				want, err = exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), "kustomize", dir).Output()
				if err != nil {
					t.Fatalf("kubectl kustomize %s: %v", dir, err)
				}
			} else {
				files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
				for _, f := range files {
					data, _ := os.ReadFile(f)
					want = append(append(want, "\n---\n"...), data...)
				}
			}
			got, expected := objects(t, out), objects(t, string(want))
			if len(got) == 0 || !reflect.DeepEqual(got, expected) {
				t.Errorf("gitopsd render and kustomize differ:\ngitopsd: %v\nkustomize: %v", keys(got), keys(expected))
			}
		})
	}
}

func TestRenderAllInstallations(t *testing.T) {
	out, stderr, code := gitopsd(t, "render", "--dir", exampleRepo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"mattermost-staging", "mattermost-production", "backups", "monitoring", "checkout"} {
		if !strings.Contains(out, "# installation: "+name+" ") {
			t.Errorf("output does not name installation %s", name)
		}
	}
}

func TestRenderErrorsExitTwoNamingTheFile(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "gitopsd.yaml", "installations:\n  - name: web\n    path: web\n    interval: often\n")
	write(t, repo, "web/kustomization.yaml", "resources: [deployment.yaml]\n")
	_, stderr, code := gitopsd(t, "render", "--dir", repo)
	if code != 2 || !strings.Contains(stderr, "gitopsd.yaml:4: installations[0].interval") {
		t.Errorf("bad gitopsd.yaml: exit %d, %q", code, stderr)
	}
	write(t, repo, "gitopsd.yaml", "installations:\n  - name: web\n    path: web\n")
	_, stderr, code = gitopsd(t, "render", "--dir", repo)
	if code != 2 || !strings.Contains(stderr, "web/kustomization.yaml") || !strings.Contains(stderr, "deployment.yaml") {
		t.Errorf("missing resource: exit %d, %q", code, stderr)
	}
	_, stderr, code = gitopsd(t, "render", "--dir", repo, "--installation", "nope")
	if code != 2 || !strings.Contains(stderr, `no installation "nope"`) {
		t.Errorf("unknown installation: exit %d, %q", code, stderr)
	}
	_, stderr, code = gitopsd(t, "render")
	if code != 2 || !strings.Contains(stderr, "--repo") {
		t.Errorf("no source: exit %d, %q", code, stderr)
	}
}

// objects decodes multi-document YAML into a map of "Kind/ns/name" to object.
func objects(t *testing.T, data string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(data), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		out[obj["kind"].(string)+"/"+str(meta["namespace"])+"/"+str(meta["name"])] = obj
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
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
