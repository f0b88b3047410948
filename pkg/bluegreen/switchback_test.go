package bluegreen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestFailingLiveColourSwitchesBack makes green's pods unready after the
// switch, while blue is kept: gitopsd switches back to blue at once (no
// interval passes), scales green to zero and says why.
func TestFailingLiveColourSwitchesBack(t *testing.T) {
	ns := env.Namespace(t)
	d, _, head := cutOver(t, ns, app{}, app{Image: "example/web:2"})
	daemontest.Eventually(t, 30*time.Second, "green to serve", func() bool { return servedBy(t, ns, "web", "web-green", 2) })

	start := time.Now()
	for _, p := range podsOf(t, ns, bluegreen.Green) {
		makeUnready(t, ns, p.Name)
	}
	in := d.waitFor(30*time.Second, "the switch back", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Failed && step(head, bluegreen.StepSwitchedBack)(in)
	})
	t.Logf("switched back %s after green's pods became unready", time.Since(start).Round(time.Millisecond))
	if got := selector(t, ns, "web"); got != "blue" {
		t.Errorf("web selects %q, want blue", got)
	}
	if !strings.Contains(in.LastError, "switched back to blue: web-green became unavailable") {
		t.Errorf("error %q", in.LastError)
	}
	daemontest.Eventually(t, 30*time.Second, "blue to serve again", func() bool { return servedBy(t, ns, "web", "web-blue", 2) })
	if replicas(deployment(t, ns, "web-green")) != 0 || in.BlueGreen.Live != bluegreen.Blue {
		t.Errorf("green at %d replicas, live %s", replicas(deployment(t, ns, "web-green")), in.BlueGreen.Live)
	}
}

// makeUnready turns a ready pod not ready, as a failing readiness probe
// would: the kubelet's (kwok's) status says so, and the test label keeps
// kwok from making it ready again.
func makeUnready(t *testing.T, ns, pod string) {
	t.Helper()
	ctx := context.Background()
	label := []byte(`{"metadata":{"labels":{"` + testenv.LabelUnready + `":"true"}}}`)
	if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, label, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	status := []byte(`{"status":{"conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady"},{"type":"ContainersReady","status":"False","reason":"ContainersNotReady"}]}}`)
	if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, pod, types.StrategicMergePatchType, status, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
}
