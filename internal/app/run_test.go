package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDaemonFollowsTheRepository runs gitopsd against a copy of
// examples/repo and walks through what a team does to it: commit, remove,
// break, fix, and change gitopsd.yaml. The poll interval is an hour, so
// every change arrives by signed push webhook.
func TestDaemonFollowsTheRepository(t *testing.T) {
	ctx := context.Background()
	repo := newGitRepo(t, exampleFleet(t))
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	write(t, filepath.Dir(secretFile), "webhook-secret", "s3cret\n")
	d := startDaemon(t, "--repo", repo.dir, "--interval", "1h", "--webhook-secret-file", secretFile)
	head := repo.git("rev-parse", "HEAD")
	d.waitFor(60*time.Second, "the initial sync", allAt(head))

	// A commit reaches the cluster through the webhook.
	repo.write("apps/mattermost/base/mattermost.env", "MM_SERVICESETTINGS_SITEURL=https://chat.example.com\nMM_LOGSETTINGS_CONSOLELEVEL=WARN\n")
	head = repo.commit("quieter logs")
	start := time.Now()
	d.push("s3cret", repo.dir, "main", head)
	d.waitFor(10*time.Second, "the pushed commit", allAt(head))
	// How fast is measured by the benchmarks, not asserted here.
	t.Logf("push webhook to all installations applied and healthy: %s", time.Since(start).Round(time.Millisecond))

	// Drift: staging is scaled by hand and put back within a second;
	// production, with drift: report, is only reported.
	kubectl(t, "-n", "mattermost-staging", "scale", "deployment/mattermost", "--replicas=4")
	start = time.Now()
	if err := pollUntil(5*time.Second, func() bool { return replicas(t, "mattermost-staging") == 1 }); err != nil {
		t.Errorf("staging's hand-scaled replicas were not put back: %d", replicas(t, "mattermost-staging"))
	}
	t.Logf("drift corrected after %s", time.Since(start).Round(time.Millisecond))
	kubectl(t, "-n", "mattermost-production", "scale", "deployment/mattermost", "--replicas=5")
	s := d.waitFor(5*time.Second, "production's drift to be reported", func(s *statusResponse) bool {
		in, _ := findInstallation(s, "mattermost-production")
		return len(in.Drift) == 1
	})
	prod, _ := findInstallation(s, "mattermost-production")
	if dr := prod.Drift[0]; dr.Object != "Deployment.apps/mattermost-production/mattermost" || dr.Action != "reported" || !contains(dr.Fields, "spec.replicas") {
		t.Errorf("production drift: %+v", dr)
	}
	if got := replicas(t, "mattermost-production"); got != 5 {
		t.Errorf("production replicas = %d, want the reported 5 left alone", got)
	}
	out, _, _ := gitopsd(t, "status", "--server", "http://"+d.addr)
	if !strings.Contains(out, "drift:") || !strings.Contains(out, "spec.replicas changed by kubectl; reported") {
		t.Errorf("gitopsd status does not show the drift:\n%s", out)
	}

	// An object removed from Git is pruned.
	blackbox := "monitoring/blackbox.yaml"
	data, _ := os.ReadFile(filepath.Join(repo.dir, blackbox))
	repo.write(blackbox, string(data)[:strings.LastIndex(string(data), "---")])
	head = repo.commit("drop the blackbox Service")
	d.push("s3cret", repo.dir, "main", head)
	d.waitFor(10*time.Second, "the prune", allAt(head))
	if _, err := env.Client.CoreV1().Services("monitoring").Get(ctx, "blackbox-exporter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the removed Service is still there: %v", err)
	}

	// A broken kustomization fails its installation only, and leaves the
	// last good state running.
	checkoutKustomization, _ := os.ReadFile(filepath.Join(repo.dir, "apps/checkout/kustomization.yaml"))
	repo.write("apps/checkout/kustomization.yaml", "resources: [namespace.yaml, deployment-green.yaml, service.yaml]\n")
	broken := repo.commit("typo")
	d.push("s3cret", repo.dir, "main", broken)
	s = d.waitFor(10*time.Second, "checkout to fail and the others to stay ready", func(s *statusResponse) bool {
		for _, in := range s.Installations {
			if in.SourceCommit != broken || (in.Name == "checkout") != (in.Phase == reconcile.Failed) || (in.Name != "checkout" && in.Phase != reconcile.Ready) {
				return false
			}
		}
		return true
	})
	checkout, _ := findInstallation(s, "checkout")
	if !strings.Contains(checkout.LastError, "apps/checkout/kustomization.yaml") || !strings.Contains(checkout.LastError, "deployment-green.yaml") {
		t.Errorf("the failure does not name the file: %q", checkout.LastError)
	}
	if checkout.AppliedCommit != head {
		t.Errorf("applied commit = %s, want the last good %s", checkout.AppliedCommit, head)
	}
	if _, err := env.Client.AppsV1().Deployments("checkout").Get(ctx, "checkout-blue", metav1.GetOptions{}); err != nil {
		t.Errorf("the last good state was not left running: %v", err)
	}
	out, _, code := gitopsd(t, "status", "--server", "http://"+d.addr)
	if code != 0 || !strings.Contains(out, "checkout") || !strings.Contains(out, "Failed") || !strings.Contains(out, "mattermost-staging") {
		t.Errorf("gitopsd status: exit %d\n%s", code, out)
	}

	// The next good commit recovers.
	repo.write("apps/checkout/kustomization.yaml", string(checkoutKustomization))
	head = repo.commit("fix typo")
	d.push("s3cret", repo.dir, "main", head)
	d.waitFor(10*time.Second, "recovery", allAt(head))

	// gitopsd.yaml drops an installation that prunes and adds one.
	cfg, _ := os.ReadFile(filepath.Join(repo.dir, "gitopsd.yaml"))
	cfg = []byte(strings.Replace(string(cfg), "  - name: backups\n    path: platform/backups\n", "", 1))
	repo.write("gitopsd.yaml", string(cfg)+"  - name: extras\n    path: extras\n")
	repo.write("extras/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: default}\ndata: {a: b}\n")
	head = repo.commit("retire backups, add extras")
	d.push("s3cret", repo.dir, "main", head)
	d.waitFor(10*time.Second, "the new installation set", func(s *statusResponse) bool {
		_, hasBackups := findInstallation(s, "backups")
		return allAt(head)(s) && !hasBackups && len(s.Installations) == 6
	})
	err := pollUntil(10*time.Second, func() bool {
		_, err := env.Client.CoreV1().Namespaces().Get(ctx, "backups", metav1.GetOptions{})
		ns, _ := env.Client.CoreV1().Namespaces().Get(ctx, "backups", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (ns != nil && ns.DeletionTimestamp != nil)
	})
	if err != nil {
		t.Errorf("the removed installation's namespace was not pruned")
	}
	store := inventory.NewStore(env.Client, inventory.DefaultNamespace)
	if err := pollUntil(10*time.Second, func() bool { names, _ := store.List(ctx); return !contains(names, "backups") }); err != nil {
		t.Errorf("the removed installation's inventory is still there")
	}
	if _, err := env.Client.CoreV1().ConfigMaps("default").Get(ctx, "extra", metav1.GetOptions{}); err != nil {
		t.Errorf("the added installation was not applied: %v", err)
	}

	// SIGTERM stops the daemon cleanly.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
		if d.err != nil {
			t.Errorf("exit after SIGTERM: %v", d.err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the daemon did not stop on SIGTERM")
	}
}

func kubectl(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

func replicas(t *testing.T, ns string) int32 {
	t.Helper()
	d, err := env.Client.AppsV1().Deployments(ns).Get(context.Background(), "mattermost", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// pollUntil is daemontest.Poll under the name this package's tests use.
func pollUntil(timeout time.Duration, ok func() bool) error { return daemontest.Poll(timeout, ok) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
