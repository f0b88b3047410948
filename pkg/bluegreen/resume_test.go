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

// TestNewCommitSupersedesCutover merges a version that never gets ready,
// then a fix during its rollout: the first cutover gives way, the idle
// colour gets the newest template and takes over.
func TestNewCommitSupersedesCutover(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))

	broken, _ := f.merge(app{Image: "example/web:2", Unready: true}, "web 2")
	d.waitFor(30*time.Second, "the rollout of the broken version", step(broken, bluegreen.StepRollout))
	fix, _ := f.merge(app{Image: "example/web:3"}, "web 3")
	in := d.waitFor(60*time.Second, "the fix's switch", settled(fix, bluegreen.StepKeep))
	if a := in.BlueGreen.Cutover; a.Number != 2 || !strings.Contains(a.Events[0].Message, "supersedes cutover #1") {
		t.Errorf("cutover #%d, first event %q", a.Number, a.Events[0].Message)
	}
	if g := deployment(t, ns, "web-green"); image(g) != "example/web:3" || selector(t, ns, "web") != "green" {
		t.Errorf("green runs %s, web selects %q", image(g), selector(t, ns, "web"))
	}
	if replicas(deployment(t, ns, "web-blue")) != 2 {
		t.Error("blue is not kept")
	}
}

// TestRestartResumesCutoverAtItsStep stops the daemon while a cutover
// holds its switch for a window, and starts another: it switches without
// rolling out or running the Job again.
func TestRestartResumesCutoverAtItsStep(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{Windows: denyDaytime})
	clk := &clock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	d := startDaemon(t, f, setup{clock: clk})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	clk.Add(4 * time.Hour)
	head, _ := f.merge(app{Windows: denyDaytime, Image: "example/web:2"}, "web 2")
	d.waitFor(60*time.Second, "the held switch", func(in reconcile.InstallationStatus) bool {
		return in.Phase == reconcile.Held && step(head, bluegreen.StepSwitch)(in)
	})
	d.stop()
	green, job := deployment(t, ns, "web-green"), jobUID(t, ns, "web-migrate-1")

	clk.Add(5*time.Hour + time.Second)
	d2 := startDaemon(t, f, setup{clock: clk})
	in := d2.waitFor(60*time.Second, "the resumed switch", settled(head, bluegreen.StepKeep))
	assertResumed(t, ns, in, green.Generation, job)
}

// TestFailoverResumesCutoverMidRollout takes the leadership from a replica
// while its cutover waits for the new colour (aborting its work at once,
// as a lost Lease does); the new colour becomes ready meanwhile, and the
// replica that takes over finishes the same cutover.
func TestFailoverResumesCutoverMidRollout(t *testing.T) {
	ns := env.Namespace(t)
	f := newFleet(t, ns, app{Timeout: "5m"})
	d := startDaemon(t, f, setup{})
	d.waitFor(60*time.Second, "the first apply", readyAt(f.git("rev-parse", "HEAD")))
	head, _ := f.merge(app{Timeout: "5m", Image: "example/web:2", Unready: true}, "web 2")
	d.waitFor(30*time.Second, "the rollout", step(head, bluegreen.StepRollout))
	daemontest.Eventually(t, 30*time.Second, "green's pods", func() bool { return len(podsOf(t, ns, bluegreen.Green)) == 2 })
	d.r.Abort()
	d.stop()
	green := deployment(t, ns, "web-green")

	// The pods become ready without their label.
	unlabel := []byte(`{"metadata":{"labels":{"` + testenv.LabelUnready + `":null}}}`)
	for _, p := range podsOf(t, ns, bluegreen.Green) {
		if _, err := env.Client.CoreV1().Pods(ns).Patch(context.Background(), p.Name, types.MergePatchType, unlabel, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d2 := startDaemon(t, f, setup{clock: d.clock})
	in := d2.waitFor(60*time.Second, "the cutover on the new leader", settled(head, bluegreen.StepKeep))
	assertResumed(t, ns, in, green.Generation, "")
}

// assertResumed checks that cutover #1 finished without a second rollout
// of green, a second Job, or a step done twice.
func assertResumed(t *testing.T, ns string, in reconcile.InstallationStatus, generation int64, job types.UID) {
	t.Helper()
	a := in.BlueGreen.Cutover
	if a.Number != 1 {
		t.Errorf("cutover #%d, want #1 resumed", a.Number)
	}
	if g := deployment(t, ns, "web-green"); g.Generation != generation {
		t.Errorf("green was rolled out again: generation %d -> %d", generation, g.Generation)
	}
	if job != "" && jobUID(t, ns, "web-migrate-1") != job {
		t.Error("the Job ran again")
	}
	if exists(t, ns, "Job", "web-migrate-2") {
		t.Error("a second cutover's Job exists")
	}
	seen := map[bluegreen.Step]int{}
	for _, e := range a.Events {
		seen[e.Step]++
	}
	if seen[bluegreen.StepRollout] != 1 || seen[bluegreen.StepKeep] != 1 {
		t.Errorf("timeline %+v: each step once", a.Events)
	}
	if got := selector(t, ns, "web"); got != "green" {
		t.Errorf("web selects %q", got)
	}
}

func jobUID(t *testing.T, ns, name string) types.UID {
	t.Helper()
	j, err := env.Client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j.UID
}
