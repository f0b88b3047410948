package bluegreen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestSwitchedSelectorIsNotDrift checks drift against the coloured intent:
// the selector gitopsd switched is not drift (a reconcile after the switch
// leaves the Service alone), a hand edit of it is, and is put back.
func TestSwitchedSelectorIsNotDrift(t *testing.T) {
	ns := env.Namespace(t)
	d, _, head := cutOver(t, ns, app{}, app{Image: "example/web:2"})
	in := d.reconcile(30*time.Second, "a reconcile after the switch", settled(head, bluegreen.StepKeep))
	if len(in.Drift) != 0 {
		t.Errorf("drift after the switch: %+v", in.Drift)
	}
	for _, c := range in.Changes {
		if c.Action != "unchanged" {
			t.Errorf("a reconcile after the switch wrote %s: %s", c.Object, c.Action)
		}
	}

	edit := []byte(`{"spec":{"selector":{"` + bluegreen.LabelColour + `":"blue"}}}`)
	if _, err := env.Client.CoreV1().Services(ns).Patch(context.Background(), "web", types.MergePatchType, edit, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	// Drift reports go as soon as the correction takes hold: the log keeps
	// them.
	reported := "msg=drift installation=web object=Service/" + ns + "/web "
	daemontest.Eventually(t, 30*time.Second, "the hand edit to be reported and undone", func() bool {
		return strings.Contains(d.logs.String(), reported) && selector(t, ns, "web") == "green"
	})
	if in := d.installation(); in.Phase == reconcile.Failed {
		t.Errorf("the correction failed: %s", in.LastError)
	}
}
