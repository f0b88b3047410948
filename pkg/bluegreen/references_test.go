package bluegreen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestOldColoursConfigMapSurvivesUntilScaleDown changes a generated
// ConfigMap, so its hash-suffixed name changes: the old one, which blue's
// pods use, stays while blue is kept and is pruned when blue is scaled to
// zero.
func TestOldColoursConfigMapSurvivesUntilScaleDown(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	old := settingsMap(t, ns)

	head, _ := f.merge(app{Setting: "2"}, "setting 2")
	d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	current := settingsMap(t, ns, old)
	if current == "" || !exists(t, ns, "ConfigMap", old) {
		t.Fatalf("after the switch: ConfigMap %s (blue's) exists %v, new one %q", old, exists(t, ns, "ConfigMap", old), current)
	}
	green := deployment(t, ns, "web-green")
	if ref := green.Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name; ref != current {
		t.Errorf("green uses %s, want %s", ref, current)
	}

	d.clock.Add(time.Hour + time.Second)
	d.r.Trigger("web")
	d.waitFor(30*time.Second, "blue's scale-down", settled(head, bluegreen.StepDone))
	if exists(t, ns, "ConfigMap", old) {
		t.Errorf("ConfigMap %s was kept after blue was scaled to zero", old)
	}
	if !exists(t, ns, "ConfigMap", current) {
		t.Errorf("ConfigMap %s of the live colour is gone", current)
	}
}

// settingsMap names the generated ConfigMap that is not one of except.
func settingsMap(t *testing.T, ns string, except ...string) string {
	t.Helper()
	list, err := env.Client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range list.Items {
		if strings.HasPrefix(cm.Name, "web-settings-") && !contains(except, cm.Name) {
			return cm.Name
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
