package bluegreen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/render"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// noApply applies nothing: these tests look at the state alone.
type noApply struct{}

func (noApply) Apply(context.Context, *render.ObjectSet, map[render.Key]string) (*apply.ChangeSet, error) {
	return &apply.ChangeSet{}, nil
}
func (noApply) Wait(context.Context, *apply.ChangeSet) error { return nil }

// rendered is the installation's render with image.
func rendered(t *testing.T, image string) *render.ObjectSet {
	t.Helper()
	var objs []render.Object
	for _, doc := range strings.Split(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: `+image+`}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-preview}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: web-migrate}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: m, image: `+image+`}]}
`, "---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, render.Object{Unstructured: u})
	}
	set, err := render.NewObjectSet(objs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestPreviewTellsAndWritesNothing previews an installation's commits as
// its state goes from none to a cutover at its pre-cutover step: what
// would be applied is coloured as the reconcile colours it, what happens
// to the colours is said, and neither the state nor a Job is written.
func TestPreviewTellsAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	store := bluegreen.NewStore(env.Client, ns)
	cut, err := bluegreen.New(bluegreen.Deps{Client: env.Client, Store: store}, bluegreen.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	spec := bluegreen.Spec{Deployment: "web", Services: []string{"web"}, PreviewService: "web-preview", PreCutover: "web-migrate",
		ScaleDownDelay: time.Hour, RequireMergedPR: true, AutoPromote: true}
	input := func(image string) bluegreen.Input {
		return bluegreen.Input{Installation: "web", Namespace: ns, Spec: spec, Commit: image, Objects: rendered(t, image), Timeout: 5 * time.Second, Applier: noApply{}}
	}
	stateVersion := func() string {
		cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, bluegreen.StateName("web"), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "none"
		} else if err != nil {
			t.Fatal(err)
		}
		return cm.ResourceVersion
	}
	preview := func(image string, change bluegreen.Change, message string) *bluegreen.Preview {
		t.Helper()
		before := stateVersion()
		pv, err := cut.Preview(ctx, input(image))
		if err != nil {
			t.Fatal(err)
		}
		if pv.Change != change || !strings.HasPrefix(pv.Message, message) {
			t.Errorf("preview of %s: %s %q, want %s %q", image, pv.Change, pv.Message, change, message)
		}
		if after := stateVersion(); after != before {
			t.Errorf("the preview of %s saved the state: %s, then %s", image, before, after)
		}
		return pv
	}
	// colours maps the names of the Deployments and Services to apply to
	// the colour they carry or select.
	colours := func(pv *bluegreen.Preview) map[string]string {
		out := map[string]string{}
		for _, o := range pv.Objects.Objects {
			switch o.GetKind() {
			case "Deployment":
				out[o.GetName()], _, _ = unstructured.NestedString(o.Object, "spec", "template", "metadata", "labels", bluegreen.LabelColour)
			case "Service":
				out[o.GetName()], _, _ = unstructured.NestedString(o.Object, "spec", "selector", bluegreen.LabelColour)
			default:
				out[o.GetName()] = o.GetKind()
			}
		}
		return out
	}
	wantColours := func(pv *bluegreen.Preview, want string) {
		t.Helper()
		got := colours(pv)
		var parts []string
		for _, name := range []string{"web", "web-blue", "web-green", "web-preview", "web-migrate"} {
			if c, ok := got[name]; ok {
				parts = append(parts, name+"="+c)
			}
		}
		if strings.Join(parts, " ") != want {
			t.Errorf("objects %s, want %s", strings.Join(parts, " "), want)
		}
	}

	pv := preview("example/web:1", bluegreen.FirstApply, "first apply: blue goes live directly")
	wantColours(pv, "web=blue web-blue=blue web-preview=green")
	if res := cut.Reconcile(ctx, input("example/web:1")); res.Outcome != bluegreen.Ready {
		t.Fatalf("first reconcile: %s %v", res.Outcome, res.Err)
	}

	// Not from a merged pull request, the daemon holds the cutover at the
	// gate; the plan shows what the merge would start.
	pv = preview("example/web:2", bluegreen.StartCutover, "a cutover from blue to green would start: web-green gets the new template at 2 replica(s), pre-cutover Job web-migrate-1 runs")
	wantColours(pv, "web=blue web-blue=blue web-green=green web-preview=green")
	if res := cut.Reconcile(ctx, input("example/web:2")); res.Outcome != bluegreen.Held {
		t.Fatalf("reconcile of a commit not from a merged pull request: %s %v", res.Outcome, res.Err)
	}

	// At the pre-cutover step, a preview runs no Job.
	st, err := store.Load(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	green := *st.Versions[bluegreen.Blue]
	green.Digest = st.Attempt.Digest
	st.Versions[bluegreen.Green] = &green
	st.Attempt.Step, st.Attempt.Job = bluegreen.StepPreCutover, "web-migrate-1"
	if err := store.Save(ctx, "web", st); err != nil {
		t.Fatal(err)
	}
	pv = preview("example/web:2", bluegreen.ContinueCutover, "cutover #1 from blue to green goes on at step PreCutover")
	wantColours(pv, "web=blue web-blue=blue web-green=green web-preview=green")
	jobs, err := env.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 0 {
		t.Errorf("the preview ran a Job: %v %v", jobs.Items, err)
	}
}
