package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRenameAndClaims renames an installation in gitopsd.yaml, then adds
// one that renders an object the renamed one holds. The renamed
// installation takes its objects over without deleting them, and the
// second claimant fails, naming both, while the holder stays Ready. Last,
// an installation whose Namespace holds another's object is removed: the
// Namespace stays, saying why, until that object has gone.
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
	s := d.waitFor(30*time.Second, "the second claimant to fail and the holder to stay ready", func(s *statusResponse) bool {
		copy, _ := findInstallation(s, "rename-copy")
		holder, _ := findInstallation(s, "rename-new")
		return copy.Phase == reconcile.Failed && copy.SourceCommit == head && holder.Phase == reconcile.Ready && holder.AppliedCommit == head
	})
	copy, _ := findInstallation(s, "rename-copy")
	if !strings.Contains(copy.LastError, "installation rename-new") || !strings.Contains(copy.LastError, "installation rename-copy") {
		t.Errorf("the claim error does not name both installations: %s", copy.LastError)
	}
	if cm, _ := env.Client.CoreV1().ConfigMaps("default").Get(ctx, "rename-web", metav1.GetOptions{}); cm.Labels[apply.LabelInstallation] != "rename-new" {
		t.Errorf("the second claimant took the object: label %q", cm.Labels[apply.LabelInstallation])
	}

	// rename-team owns a Namespace in which rename-new puts an object.
	repo.write("gitopsd.yaml", "installations:\n  - name: rename-new\n    path: web\n  - name: rename-team\n    path: team\n")
	repo.remove("copy")
	repo.write("team/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: rename-team}\n")
	repo.write("web/in-team.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: in-team, namespace: rename-team}\ndata: {a: b}\n")
	head = repo.commit("a team namespace holding an object of another installation")
	d.waitFor(60*time.Second, "the team namespace and the object in it", allAt(head))

	repo.write("gitopsd.yaml", "installations:\n  - name: rename-new\n    path: web\n")
	repo.commit("retire the team")
	reason := "ConfigMap rename-team/in-team (installation rename-new)"
	if err := pollUntil(30*time.Second, func() bool { return removeFailed(t, "rename-team", reason) }); err != nil {
		t.Fatalf("no RemoveFailed event naming %s", reason)
	}
	ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "rename-team", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the namespace holding another installation's object went: %v", err)
	}
	if names, _ := store.List(ctx); !contains(names, "rename-team") {
		t.Fatal("the removed installation's inventory went, so its namespace is never pruned")
	}

	repo.remove("web/in-team.yaml")
	repo.commit("move the object out")
	err = pollUntil(60*time.Second, func() bool {
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "rename-team", metav1.GetOptions{})
		names, _ := store.List(ctx)
		return (apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil) && !contains(names, "rename-team")
	})
	if err != nil {
		t.Errorf("the retried removal did not prune the namespace once it held nothing of others")
	}
}

// removeFailed reports whether a RemoveFailed event of installation says
// reason.
func removeFailed(t *testing.T, installation, reason string) bool {
	events, err := env.Client.CoreV1().Events(inventory.DefaultNamespace).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + inventory.Name(installation)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Reason == "RemoveFailed" && strings.Contains(e.Message, reason) {
			return true
		}
	}
	return false
}
