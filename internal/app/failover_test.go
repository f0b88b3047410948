package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// blueGreenFleet writes a blue/green installation web of 2 replicas in ns
// running image; unready keeps its pods from becoming ready.
func blueGreenFleet(repo *gitRepo, ns, image string, unready bool) {
	labels := "app: web"
	if unready {
		labels += ", " + testenv.LabelUnready + `: "true"`
	}
	repo.write("gitopsd.yaml", fmt.Sprintf("installations:\n  - name: %s\n    path: app\n    namespace: %s\n    timeout: 5m\n"+
		"    blueGreen:\n      deployment: web\n      services: [web]\n      requireMergedPR: false\n", ns, ns))
	repo.write("app/kustomization.yaml", "resources: [namespace.yaml, web.yaml]\n")
	repo.write("app/namespace.yaml", fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns))
	repo.write("app/web.yaml", fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {%s}}
    spec:
      containers: [{name: web, image: %q}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`, labels, image))
}

// TestLeaderFailoverResumesCutover kills the leading daemon while its
// cutover waits for the new colour; the standby takes the Lease and
// finishes the same cutover once the colour is ready: no second rollout,
// no second cutover.
func TestLeaderFailoverResumesCutover(t *testing.T) {
	const ns, lease = "failover-cutover", "test-failover-cutover"
	repo := newGitRepo(t, t.TempDir())
	blueGreenFleet(repo, ns, "example/web:1", false)
	first := repo.commit("web 1")
	args := []string{"--repo", repo.dir, "--interval", "1s", "--leader-elect", "--leader-election-id", lease, "--leader-election-lease-duration", "2s"}
	a := startDaemon(t, args...)
	a.waitFor(60*time.Second, "blue to serve on the leader", allAt(first))
	b := startDaemon(t, args...)
	b.waitFor(30*time.Second, "the standby to answer", func(s *statusResponse) bool { return !s.Leading })

	blueGreenFleet(repo, ns, "example/web:2", true)
	head := repo.commit("web 2, not ready yet")
	a.waitFor(30*time.Second, "the cutover's rollout on the leader", func(s *statusResponse) bool {
		in, _ := findInstallation(s, ns)
		return in.BlueGreen != nil && in.BlueGreen.Cutover != nil && in.BlueGreen.Cutover.Commit == head && in.BlueGreen.Step == bluegreen.StepRollout
	})
	ctx := context.Background()
	pods := func() []string {
		list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: bluegreen.LabelColour + "=green"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		return names
	}
	if err := pollUntil(30*time.Second, func() bool { return len(pods()) == 2 }); err != nil {
		t.Fatal("green's pods were not created")
	}
	a.kill()
	killed := time.Now()
	green, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "web-green", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unlabel := []byte(`{"metadata":{"labels":{"` + testenv.LabelUnready + `":null}}}`)
	for _, p := range pods() {
		if _, err := env.Client.CoreV1().Pods(ns).Patch(ctx, p, types.MergePatchType, unlabel, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	s := b.waitFor(60*time.Second, "the standby to lead and finish the cutover", func(s *statusResponse) bool {
		in, _ := findInstallation(s, ns)
		return s.Leading && in.Phase == reconcile.Ready && in.BlueGreen != nil && in.BlueGreen.Step == bluegreen.StepKeep
	})
	t.Logf("switched %s after the leader was killed", time.Since(killed).Round(time.Millisecond))
	in, _ := findInstallation(s, ns)
	a1 := in.BlueGreen.Cutover
	if a1.Number != 1 || a1.Commit != head || in.BlueGreen.Live != bluegreen.Green {
		t.Errorf("cutover #%d of %s, live %s; want #1 of %s resumed, green live", a1.Number, a1.Commit, in.BlueGreen.Live, head)
	}
	rollouts := 0
	for _, e := range a1.Events {
		if e.Step == bluegreen.StepRollout {
			rollouts++
		}
	}
	if rollouts != 1 {
		t.Errorf("%d rollouts in the timeline %+v, want the one the first leader began", rollouts, a1.Events)
	}
	after, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "web-green", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != green.Generation {
		t.Errorf("web-green rolled out again by the new leader: generation %d -> %d", green.Generation, after.Generation)
	}
	svc, err := env.Client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Spec.Selector[bluegreen.LabelColour]; got != "green" {
		t.Errorf("web selects %q, want green", got)
	}
}
