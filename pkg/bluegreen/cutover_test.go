package bluegreen_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/daemontest"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFirstApplyMakesBlueLive applies a blue/green installation for the
// first time: blue is created from the render's Deployment and serves at
// once; the plain Deployment is never created, nor is a Job run.
func TestFirstApplyMakesBlueLive(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	head := f.git("rev-parse", "HEAD")
	in := d.waitFor(60*time.Second, "the first apply", readyAt(head))
	if exists(t, ns, "Deployment", "web") {
		t.Error("the plain Deployment web was created")
	}
	blue := deployment(t, ns, "web-blue")
	if replicas(blue) != 2 || blue.Spec.Selector.MatchLabels[bluegreen.LabelColour] != "blue" || blue.Spec.Template.Labels[bluegreen.LabelColour] != "blue" {
		t.Errorf("web-blue: replicas %d, selector %v, pod labels %v", replicas(blue), blue.Spec.Selector.MatchLabels, blue.Spec.Template.Labels)
	}
	if got := selector(t, ns, "web"); got != "blue" {
		t.Errorf("Service web selects colour %q, want blue", got)
	}
	if got := selector(t, ns, "web-preview"); got != "green" {
		t.Errorf("Service web-preview selects colour %q, want green (the idle one)", got)
	}
	daemontest.Eventually(t, 30*time.Second, "web's endpoints to be the two blue pods", func() bool { return servedBy(t, ns, "web", "web-blue", 2) })
	if exists(t, ns, "Job", "web-migrate") || exists(t, ns, "Job", "web-migrate-1") {
		t.Error("a first apply ran the pre-cutover Job")
	}
	if bg := in.BlueGreen; bg == nil || bg.Live != bluegreen.Blue || bg.LiveCommit != head || bg.Cutover != nil {
		t.Errorf("blue/green status = %+v, want blue live at %s and no cutover", bg, head)
	}
}

// TestMergedPullRequestCutsOver merges a pull request that changes the
// image: green rolls out at blue's size, the Job runs, the Services switch
// (their endpoints become green's pods), blue stays at full size, and is
// scaled to zero once the delay has passed.
func TestMergedPullRequestCutsOver(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	switchedAt := d.clock.Now()

	head, pr := f.merge(app{Image: "example/web:2"}, "web 2")
	in := d.waitFor(60*time.Second, "the switch", settled(head, bluegreen.StepKeep))
	if in.Phase != reconcile.Ready || in.AppliedCommit != head {
		t.Errorf("after the switch: phase %s at %s, want Ready at %s", in.Phase, in.AppliedCommit, head)
	}
	green, blue := deployment(t, ns, "web-green"), deployment(t, ns, "web-blue")
	if image(green) != "example/web:2" || replicas(green) != 2 || green.Status.ReadyReplicas != 2 {
		t.Errorf("web-green: %s, %d replicas, %d ready; want example/web:2 at 2 ready", image(green), replicas(green), green.Status.ReadyReplicas)
	}
	if image(blue) != "example/web:1" || replicas(blue) != 2 {
		t.Errorf("web-blue: %s at %d replicas; want example/web:1 kept at full size", image(blue), replicas(blue))
	}
	job, err := env.Client.BatchV1().Jobs(ns).Get(context.Background(), "web-migrate-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the pre-cutover Job of cutover #1: %v", err)
	}
	if !complete(job) || job.Spec.Template.Spec.Containers[0].Image != "example/web:2" {
		t.Errorf("Job web-migrate-1: complete %v, image %s", complete(job), job.Spec.Template.Spec.Containers[0].Image)
	}
	if got := selector(t, ns, "web"); got != "green" {
		t.Errorf("Service web selects %q, want green", got)
	}
	daemontest.Eventually(t, 30*time.Second, "web's endpoints to be green's two pods", func() bool { return servedBy(t, ns, "web", "web-green", 2) })
	svc, err := env.Client.CoreV1().Services(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{bluegreen.AnnotationPreviousColour: "blue", bluegreen.AnnotationCommit: head, bluegreen.AnnotationPullRequest: strconv.Itoa(pr)}
	for k, v := range want {
		if svc.Annotations[k] != v {
			t.Errorf("Service web annotation %s = %q, want %q", k, svc.Annotations[k], v)
		}
	}
	bg := in.BlueGreen
	if bg.Live != bluegreen.Green || bg.LiveCommit != head || bg.Phase != bluegreen.PhaseSucceeded || bg.Cutover.PullRequest == nil || bg.Cutover.PullRequest.Number != pr {
		t.Errorf("status: live %s at %s, phase %s, cutover %+v", bg.Live, bg.LiveCommit, bg.Phase, bg.Cutover)
	}
	var steps []string
	for _, e := range bg.Cutover.Events {
		steps = append(steps, string(e.Step))
	}
	if got := strings.Join(steps, " "); got != "Gate Rollout PreCutover Switch Keep" {
		t.Errorf("timeline steps %q, want Gate Rollout PreCutover Switch Keep", got)
	}

	// Within the delay nothing changes; once it has passed, blue goes to zero.
	d.clock.Add(59 * time.Minute)
	d.r.Trigger("web")
	d.waitFor(30*time.Second, "a reconcile within the delay", func(in reconcile.InstallationStatus) bool { return in.Phase == reconcile.Ready })
	if replicas(deployment(t, ns, "web-blue")) != 2 {
		t.Error("blue was scaled down within its delay")
	}
	d.clock.Add(time.Minute + time.Second)
	d.r.Trigger("web")
	d.waitFor(30*time.Second, "blue's scale-down", settled(head, bluegreen.StepDone))
	blue = deployment(t, ns, "web-blue")
	if replicas(blue) != 0 {
		t.Errorf("web-blue at %d replicas after the delay, want 0", replicas(blue))
	}
	if kept := *in.BlueGreen.Colours[0].KeepUntil; !kept.Equal(switchedAt.Add(time.Hour)) {
		t.Errorf("blue was kept until %s, want an hour after the switch at %s", kept, switchedAt)
	}
}

func complete(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
