package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/config"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDeletedConfigIsAnError deletes gitopsd.yaml from a repository that
// had it. That is a configuration error, not a repository of one
// installation: the status says so, the installations it listed keep their
// last commit and their drift corrected, and nothing is pruned; a daemon
// started while it is missing says so too. Putting it back resumes.
func TestDeletedConfigIsAnError(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: a\n    path: a\n  - name: b\n    path: b\n",
		"a/cm.yaml":    cm("a", "git"),
		"b/cm.yaml":    cm("b", "git"),
		"cm.yaml":      cm("root", "1"), // what the root would render as one installation
	})
	first := rp.git("rev-parse", "HEAD")
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the first apply", readyAt(first))

	rp.remove(config.FileName)
	head := rp.commit("delete gitopsd.yaml")
	s := d.waitFor(10*time.Second, "the configuration error", func(s Status) bool { return s.Commit == head && s.ConfigError != "" })
	if !strings.Contains(s.ConfigError, "gitopsd.yaml is missing") || !strings.Contains(s.ConfigError, "[a b]") {
		t.Errorf("configuration error %q does not say what happened", s.ConfigError)
	}
	if len(s.Installations) != 2 || !readyAt(first)(s) {
		t.Errorf("the listed installations do not keep their last commit: %+v", s.Installations)
	}
	if exists(t, ns, "root") {
		t.Error("the repository root was applied as one installation")
	}
	cms := env.Client.CoreV1().ConfigMaps(ns)
	obj, err := cms.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj.Data["v"] = "by-hand"
	if _, err := cms.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if !poll(10*time.Second, func() bool { return cmValue(t, ns, "a") == "git" }) {
		t.Error("drift is no longer corrected")
	}

	// A daemon that starts while the file is missing.
	d.stop()
	again := startDaemon(t, ns, rp, setup{})
	s = again.waitFor(10*time.Second, "the configuration error after a restart", func(s Status) bool { return s.ConfigError != "" })
	if !strings.Contains(s.ConfigError, "[a b]") || len(s.Installations) != 0 {
		t.Errorf("after a restart: %+v", s)
	}
	if !exists(t, ns, "a") || !exists(t, ns, "b") || exists(t, ns, "root") {
		t.Error("objects were pruned or the root applied after a restart")
	}

	rp.write(config.FileName, "installations:\n  - name: a\n    path: a\n  - name: b\n    path: b\n")
	head = rp.commit("restore gitopsd.yaml")
	again.waitFor(10*time.Second, "the file back", func(s Status) bool { return s.ConfigError == "" && readyAt(head)(s) })
}

// TestRepositoryWithoutConfigIsOneInstallation keeps what a repository that
// never had gitopsd.yaml is: one installation of its root.
func TestRepositoryWithoutConfigIsOneInstallation(t *testing.T) {
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{"cm.yaml": cm("root", "1")})
	d := startDaemon(t, ns, rp, setup{})
	s := d.waitFor(10*time.Second, "the implicit installation", readyAt(rp.git("rev-parse", "HEAD")))
	if s.ConfigError != "" || len(s.Installations) != 1 || s.Installations[0].Name != "fleet" {
		t.Errorf("status: %+v", s)
	}
}
