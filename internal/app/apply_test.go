package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestApplyExampleRepo drives the command line as a user would: diff, apply,
// apply again, remove an object, diff and apply.
func TestApplyExampleRepo(t *testing.T) {
	repo := exampleFleet(t)
	kube := []string{"--kubeconfig", env.Kubeconfig}
	run := func(args ...string) (string, string, int) {
		return gitopsd(t, append(append(args, "--dir", repo), kube...)...)
	}

	out, stderr, code := run("diff")
	if code != 1 || !strings.Contains(out, "would be created") {
		t.Fatalf("diff before the first apply: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = run("apply")
	if code != 0 {
		t.Fatalf("first apply: exit %d\n%s%s", code, out, stderr)
	}
	for _, line := range []string{"mattermost-staging: 10 created", "backups: 3 created", "monitoring: 4 created", "checkout: blue/green: Ready, live blue"} {
		if !strings.Contains(out, line) {
			t.Errorf("first apply does not report %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "change-me") {
		t.Error("apply printed a secret value")
	}

	out, _, code = run("apply")
	if code != 0 || strings.Contains(out, "created") || strings.Contains(out, "configured") {
		t.Errorf("second apply changed something: exit %d\n%s", code, out)
	}
	for _, name := range []string{"mattermost-staging", "mattermost-production", "backups", "monitoring", "checkout", "gitopsd"} {
		if _, _, code := run("diff", "--installation", name); code != 0 {
			t.Errorf("diff of %s after apply: exit %d, want 0", name, code)
		}
	}

	// Remove the blackbox exporter's Service from Git.
	blackbox := filepath.Join(repo, "monitoring", "blackbox.yaml")
	data, _ := os.ReadFile(blackbox)
	trimmed := string(data)[:strings.LastIndex(string(data), "---")]
	if err := os.WriteFile(blackbox, []byte(trimmed), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = run("diff", "--installation", "monitoring")
	if code != 1 || !strings.Contains(out, "Service/monitoring/blackbox-exporter would be pruned") {
		t.Errorf("diff of a removed object: exit %d\n%s", code, out)
	}
	out, _, code = run("apply", "--installation", "monitoring", "--dry-run")
	if code != 0 || !strings.Contains(out, "1 deleted (dry run)") {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	out, _, code = run("apply", "--installation", "monitoring")
	if code != 0 || !strings.Contains(out, "3 unchanged, 1 deleted") {
		t.Errorf("apply after removing an object: exit %d\n%s", code, out)
	}
}

func TestApplyFailureExitsOne(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "bad.yaml", "apiVersion: nope.example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: default}\n")
	out, _, code := gitopsd(t, "apply", "--dir", repo, "--kubeconfig", env.Kubeconfig)
	if code != 1 || !strings.Contains(out, "does not serve kind Gadget") {
		t.Errorf("apply of an unknown kind: exit %d\n%s", code, out)
	}
}

// TestApplyWaitExitsOneWhenNotHealthyInTime applies a Deployment whose
// pods no node can take: the apply succeeds, the wait times out naming the
// Deployment, and the exit status is 1.
func TestApplyWaitExitsOneWhenNotHealthyInTime(t *testing.T) {
	ns := env.Namespace(t)
	repo := t.TempDir()
	write(t, repo, "stuck.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck, namespace: `+ns+`}
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {gitopsd.io/no-such-node: "true"}
      containers: [{name: app, image: registry.example.com/app:1}]
`)
	start := time.Now()
	out, stderr, code := gitopsd(t, "apply", "--dir", repo, "--kubeconfig", env.Kubeconfig, "--wait", "--timeout", "3s")
	if code != 1 {
		t.Fatalf("apply --wait of a Deployment that cannot become available: exit %d, want 1\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "1 created") || !strings.Contains(out, "not healthy") || !strings.Contains(out, "Deployment.apps/"+ns+"/stuck") {
		t.Errorf("the output does not say what is not healthy:\n%s", out)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("--timeout 3s took %s", took)
	}
}

// TestDeployManifestsApply applies deploy/, gitopsd's own in-cluster
// installation, and waits for it to become healthy on the fake nodes. It
// is installation gitopsd, as in examples/repo (applied by other tests of
// this cluster): one object has one owner.
func TestDeployManifestsApply(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gitopsd")
	if err := os.CopyFS(dir, os.DirFS("../../deploy")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := gitopsd(t, "apply", "--dir", dir, "--kubeconfig", env.Kubeconfig, "--wait", "--timeout", "60s")
	if code != 0 {
		t.Fatalf("apply deploy/: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "Deployment.apps/gitopsd-system/gitopsd") {
		t.Errorf("deploy/ has no gitopsd Deployment:\n%s", out)
	}
}
