package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRenameAndClaims renames an installation in gitopsd.yaml, then adds
// one that renders an object the renamed one holds. The renamed
// installation takes its objects over without deleting them, and the
// second claimant fails, naming both, while the holder stays Ready.
func TestRenameAndClaims(t *testing.T) {
	ctx := context.Background()
	repo := newGitRepo(t, t.TempDir())
	repo.write("gitopsd.yaml", "installations:\n  - name: rename-old\n    path: web\n")
	repo.write("web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rename-web, namespace: default}\ndata: {a: b}\n")
	head := repo.commit("a fleet of one")
	d := startDaemon(t, "--repo", repo.dir, "--interval", "1s")
	d.waitFor(60*time.Second, "the initial sync", allAt(head))
	before, err := env.Client.CoreV1().ConfigMaps("default").Get(ctx, "rename-web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	repo.write("gitopsd.yaml", "installations:\n  - name: rename-new\n    path: web\n")
	head = repo.commit("rename")
	store := inventory.NewStore(env.Client, inventory.DefaultNamespace)
	d.waitFor(30*time.Second, "the renamed installation", func(s *statusResponse) bool {
		names, _ := store.List(ctx)
		return allAt(head)(s) && len(s.Installations) == 1 && !contains(names, "rename-old")
	})
	after, err := env.Client.CoreV1().ConfigMaps("default").Get(ctx, "rename-web", metav1.GetOptions{})
	if err != nil || after.UID != before.UID || after.Labels[apply.LabelInstallation] != "rename-new" {
		t.Fatalf("the renamed installation's object: %v, label %q; want the same object, moved", err, after.Labels[apply.LabelInstallation])
	}

	repo.write("gitopsd.yaml", "installations:\n  - name: rename-new\n    path: web\n  - name: rename-copy\n    path: copy\n")
	repo.write("copy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rename-web, namespace: default}\ndata: {a: b}\n")
	head = repo.commit("a second claimant")
	s := d.waitFor(30*time.Second, "the second claimant to fail", func(s *statusResponse) bool {
		copy, _ := findInstallation(s, "rename-copy")
		return copy.Phase == reconcile.Failed && copy.SourceCommit == head
	})
	copy, _ := findInstallation(s, "rename-copy")
	if !strings.Contains(copy.LastError, "installation rename-new") || !strings.Contains(copy.LastError, "installation rename-copy") {
		t.Errorf("the claim error does not name both installations: %s", copy.LastError)
	}
	if holder, _ := findInstallation(s, "rename-new"); holder.Phase != reconcile.Ready {
		t.Errorf("the holder is %s: %s", holder.Phase, holder.Message)
	}
	if cm, _ := env.Client.CoreV1().ConfigMaps("default").Get(ctx, "rename-web", metav1.GetOptions{}); cm.Labels[apply.LabelInstallation] != "rename-new" {
		t.Errorf("the second claimant took the object: label %q", cm.Labels[apply.LabelInstallation])
	}
}
