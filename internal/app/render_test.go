package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/example"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// exampleTree is examples/repo in this work tree; exampleFleet copies it,
// made whole (see package example).
const exampleTree = "../../examples/repo"

func exampleFleet(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	if err := example.Fleet(filepath.Join("..", ".."), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRenderMatchesKustomizeBuild renders each installation of
// examples/repo and compares the objects with those of `kubectl kustomize`
// (kustomize built into kubectl) or, for plain YAML, with the files.
func TestRenderMatchesKustomizeBuild(t *testing.T) {
	exampleRepo := exampleFleet(t)
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
			want := kustomizeBuild(t, filepath.Join(exampleRepo, inst.Path))
			got, expected := objects(t, out), objects(t, want)
			if len(got) == 0 || !reflect.DeepEqual(got, expected) {
				t.Errorf("gitopsd render and kustomize differ:\ngitopsd: %v\nkustomize: %v", keys(got), keys(expected))
			}
		})
	}
}

// kustomizeBuild returns what `kubectl kustomize dir` (kustomize built into
// kubectl) renders or, for a directory without a kustomization, its YAML
// files.
func kustomizeBuild(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
		var want []byte
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			want = append(append(want, "\n---\n"...), data...)
		}
		return string(want)
	}
	out, err := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return string(out)
}

// TestRenderDirOfAnOverlay renders an overlay by its directory, as
// `kustomize build` does: its base in a parent directory is found, inside
// this repository's work tree and in a directory outside any.
func TestRenderDirOfAnOverlay(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, "apps/web/base/kustomization.yaml", "resources: [cm.yaml]\n")
	write(t, outside, "apps/web/base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n")
	write(t, outside, "apps/web/overlays/prod/kustomization.yaml", "resources: [../../base]\nnamePrefix: prod-\n")
	for _, dir := range []string{
		filepath.Join(exampleTree, "apps/mattermost/overlays/production"),
		filepath.Join(outside, "apps/web/overlays/prod"),
	} {
		out, stderr, code := gitopsd(t, "render", "--dir", dir)
		if code != 0 {
			t.Errorf("render --dir %s: exit %d: %s", dir, code, stderr)
			continue
		}
		got, want := objects(t, out), objects(t, kustomizeBuild(t, dir))
		if len(got) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("render --dir %s and kustomize differ:\ngitopsd: %v\nkustomize: %v", dir, keys(got), keys(want))
		}
	}
}

// TestDiffAndApplyDirOfAnOverlay: diff and apply take an overlay's
// directory as render does.
func TestDiffAndApplyDirOfAnOverlay(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base/kustomization.yaml", "resources: [cm.yaml]\n")
	write(t, dir, "base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata: {a: b}\n")
	write(t, dir, "overlay-dir/kustomization.yaml", "resources: [../base]\nnamePrefix: overlay-\n")
	args := []string{"--dir", filepath.Join(dir, "overlay-dir"), "--kubeconfig", env.Kubeconfig}
	out, stderr, code := gitopsd(t, append([]string{"diff"}, args...)...)
	if code != 1 || !strings.Contains(out, "ConfigMap/default/overlay-web") {
		t.Fatalf("diff: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = gitopsd(t, append([]string{"apply"}, args...)...)
	if code != 0 || !strings.Contains(out, "overlay-dir: 1 created") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := env.Client.CoreV1().ConfigMaps("default").Get(context.Background(), "overlay-web", metav1.GetOptions{}); err != nil {
		t.Errorf("the overlay's ConfigMap: %v", err)
	}
}

// TestRenderDirInAWorkTree renders a kustomization of a Git work tree as it
// is on disk; a link leaving the work tree is refused.
func TestRenderDirInAWorkTree(t *testing.T) {
	repo := newGitRepo(t, t.TempDir())
	repo.write("base/kustomization.yaml", "resources: [cm.yaml]\n")
	repo.write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
	repo.write("overlay/kustomization.yaml", "resources: [../base, secret.yaml]\n")
	secret := filepath.Join(t.TempDir(), "secret.yaml")
	write(t, filepath.Dir(secret), "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: leaked}\n")
	if err := os.Symlink(secret, filepath.Join(repo.dir, "overlay/secret.yaml")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := gitopsd(t, "render", "--dir", filepath.Join(repo.dir, "overlay"))
	if code != 2 || !strings.Contains(stderr, "overlay/secret.yaml points to "+secret+", outside the repository") {
		t.Errorf("a link out of the work tree: exit %d: %s", code, stderr)
	}
	repo.write("overlay/kustomization.yaml", "resources: [../base]\n") // not committed: the work tree is read
	out, stderr, code := gitopsd(t, "render", "--dir", filepath.Join(repo.dir, "overlay"))
	if code != 0 || !strings.Contains(out, "# installation: overlay (overlay, 1 objects)") {
		t.Errorf("exit %d: %s%s", code, out, stderr)
	}
}

// TestRenderLogsKustomizeWarnings runs `gitopsd render` as a process: the
// deprecation notice kustomize prints reaches stderr as a log line, not as
// kustomize's raw text.
func TestRenderLogsKustomizeWarnings(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "commonLabels: {team: a}\nresources: [cm.yaml]\n")
	write(t, dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), daemonChildEnv+"="+strings.Join([]string{"render", "--dir", dir}, "\x1f"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gitopsd render: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `level=WARN msg="kustomize warning" file=`) || !strings.Contains(stderr.String(), `warning="'commonLabels' is deprecated`) {
		t.Errorf("the warning was not logged:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "# Warning") {
		t.Errorf("kustomize's raw warning reached stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "team: a") {
		t.Errorf("render output:\n%s", stdout.String())
	}
}

// TestDaemonSurvivesAKustomizePanic runs a fleet whose second installation
// makes kustomize panic: that one fails, the first is applied.
func TestDaemonSurvivesAKustomizePanic(t *testing.T) {
	repo := newGitRepo(t, t.TempDir())
	repo.write("gitopsd.yaml", "installations:\n  - name: survivor\n    path: good\n  - name: panicky\n    path: bad\n")
	repo.write("good/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: survivor, namespace: default}\ndata: {a: b}\n")
	// A name with a comma breaks the list of previous names that namePrefix
	// keeps, and kustomize's name reference transformer panics (as with a
	// SOPS-encrypted manifest).
	repo.write("bad/kustomization.yaml", "namePrefix: p-\nresources: [cm.yaml]\n")
	repo.write("bad/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'a,b', namespace: default}\n")
	head := repo.commit("a good and a panicking installation")
	d := startDaemon(t, "--repo", repo.dir)
	s := d.waitFor(60*time.Second, "survivor applied and panicky failed", func(s *statusResponse) bool {
		good, _ := findInstallation(s, "survivor")
		bad, _ := findInstallation(s, "panicky")
		return good.Phase == reconcile.Ready && good.AppliedCommit == head && bad.Phase == reconcile.Failed
	})
	bad, _ := findInstallation(s, "panicky")
	if !strings.Contains(bad.LastError, "bad/kustomization.yaml: kustomize panicked: ") {
		t.Errorf("panicky's error: %q", bad.LastError)
	}
	if _, err := env.Client.CoreV1().ConfigMaps("default").Get(context.Background(), "survivor", metav1.GetOptions{}); err != nil {
		t.Errorf("the good installation was not applied: %v", err)
	}
}

func TestRenderAllInstallations(t *testing.T) {
	out, stderr, code := gitopsd(t, "render", "--dir", exampleFleet(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"mattermost-staging", "mattermost-production", "backups", "monitoring", "checkout", "gitopsd"} {
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
