package bluegreen_test

import (
	"context"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAutoscaledDeploymentIsNotFoughtOver cuts over a Deployment that an
// autoscaler scales (to its minimum of 3): green starts at blue's 3, the
// autoscaler moves to green at the switch, and neither gitopsd nor the
// autoscaler changes a colour's size the other set.
func TestAutoscaledDeploymentIsNotFoughtOver(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{HPA: true})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	daemontest.Eventually(t, 60*time.Second, "the autoscaler to scale blue to 3", func() bool {
		b := deployment(t, ns, "web-blue")
		return replicas(b) == 3 && b.Status.ReadyReplicas == 3
	})
	in := d.reconcile(30*time.Second, "a reconcile", readyAt(f.git("rev-parse", "HEAD")))
	if replicas(deployment(t, ns, "web-blue")) != 3 || len(in.Drift) != 0 {
		t.Errorf("after a reconcile: blue at %d replicas, drift %+v", replicas(deployment(t, ns, "web-blue")), in.Drift)
	}

	head, _ := f.merge(app{HPA: true, Image: "example/web:2"}, "web 2")
	d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	green := deployment(t, ns, "web-green")
	if replicas(green) != 3 || green.Status.ReadyReplicas != 3 {
		t.Errorf("green at %d replicas, %d ready; want blue's 3", replicas(green), green.Status.ReadyReplicas)
	}
	hpa, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hpa.Spec.ScaleTargetRef.Name != "web-green" {
		t.Errorf("the autoscaler targets %s, want web-green", hpa.Spec.ScaleTargetRef.Name)
	}
	// Reconciles and the autoscaler's own syncs leave both colours alone.
	generation := green.Generation
	for range 3 {
		d.reconcile(30*time.Second, "a reconcile", settled(head, bluegreen.StepKeep))
	}
	daemontest.Eventually(t, 30*time.Second, "the autoscaler to have looked at green", func() bool {
		h, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "web", metav1.GetOptions{})
		return err == nil && h.Status.LastScaleTime != nil && h.Status.CurrentReplicas == 3 && h.Status.ObservedGeneration != nil && *h.Status.ObservedGeneration == h.Generation
	})
	green = deployment(t, ns, "web-green")
	if replicas(green) != 3 || green.Generation != generation || replicas(deployment(t, ns, "web-blue")) != 3 {
		t.Errorf("after the switch: green at %d (generation %d -> %d), blue at %d; want both left at 3",
			replicas(green), generation, green.Generation, replicas(deployment(t, ns, "web-blue")))
	}

	d.clock.Add(time.Hour + time.Second)
	d.r.Trigger("web")
	d.waitFor(30*time.Second, "blue's scale-down", settled(head, bluegreen.StepDone))
	if replicas(deployment(t, ns, "web-blue")) != 0 || replicas(deployment(t, ns, "web-green")) != 3 {
		t.Errorf("after the delay: blue at %d, green at %d", replicas(deployment(t, ns, "web-blue")), replicas(deployment(t, ns, "web-green")))
	}
}
