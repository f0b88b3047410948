package app

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/plan"
)

// TestDiffUnreachableClusterExitsTwo points diff at an address where no API
// server listens: every installation is reported as not planned, with the
// cause, and the exit status is 2 (not 0, "no changes").
func TestDiffUnreachableClusterExitsTwo(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	write(t, filepath.Dir(kubeconfig), "kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`, freeAddr(t)))
	start := time.Now()
	out, stderr, code := gitopsd(t, "diff", "--dir", exampleFleet(t), "--kubeconfig", kubeconfig)
	took := time.Since(start)
	if code != 2 {
		t.Fatalf("diff against an unreachable cluster: exit %d, want 2\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "# checkout: not planned: ") || !strings.Contains(out, "connection refused") {
		t.Errorf("the output does not say why:\n%s", out)
	}
	if !strings.Contains(stderr, "6 not planned") {
		t.Errorf("stderr: %q", stderr)
	}
	if took > 30*time.Second {
		t.Errorf("diff took %s to give up on a refused connection", took)
	}
}

// TestDiffReportsEveryInstallation plans a fleet with one broken
// installation: the others are still planned, the broken one is named with
// its file, the exit status is 2, and -o json carries the same plan.
func TestDiffReportsEveryInstallation(t *testing.T) {
	ns := env.Namespace(t)
	repo := t.TempDir()
	write(t, repo, "gitopsd.yaml", "installations:\n  - name: good\n    path: good\n  - name: broken\n    path: broken\n")
	write(t, repo, "good/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: planned, namespace: "+ns+"}\ndata: {a: b}\n")
	write(t, repo, "broken/kustomization.yaml", "resources: [missing.yaml]\n")
	args := []string{"diff", "--dir", repo, "--kubeconfig", env.Kubeconfig}

	out, stderr, code := gitopsd(t, args...)
	if code != 2 || !strings.Contains(stderr, "1 render error") {
		t.Errorf("exit %d, stderr %q; want 2 for a render error", code, stderr)
	}
	for _, line := range []string{
		"# good: ConfigMap/" + ns + "/planned would be created\n",
		"# broken: render error: broken/kustomization.yaml: ",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("the output has no %q:\n%s", line, out)
		}
	}

	out, _, code = gitopsd(t, append(args, "-o", "json")...)
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 2 {
		t.Fatalf("-o json: exit %d, %v\n%s", code, err, out)
	}
	if len(p.Installations) != 2 || len(p.Installations[0].Objects) != 1 || p.Installations[1].RenderError == nil {
		t.Errorf("-o json: %+v", p.Installations)
	}

	out, _, code = gitopsd(t, append(args, "--installation", "good")...)
	if code != 1 || strings.Contains(out, "broken") {
		t.Errorf("--installation good: exit %d, want 1 (changes)\n%s", code, out)
	}
	if _, stderr, code := gitopsd(t, append(args, "-o", "yaml")...); code != 2 || !strings.Contains(stderr, `-o "yaml"`) {
		t.Errorf("-o yaml: exit %d, %q", code, stderr)
	}
}
