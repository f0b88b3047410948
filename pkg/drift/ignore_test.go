package drift

import (
	"context"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// replicasWriters are the ways replicas change in a cluster: kubectl by
// hand, an autoscaler through the scale subresource as the
// HorizontalPodAutoscaler does, and a controller that writes the
// Deployment itself.
var replicasWriters = []struct {
	name  string
	scale func(l *loop)
}{
	{"kubectl scale", func(l *loop) { l.kubectl("scale", "deployment/web", "--replicas=7") }},
	{"kubectl patch", func(l *loop) { l.kubectl("patch", "deployment/web", "-p", `{"spec":{"replicas":7}}`) }},
	{"autoscaler through scale", func(l *loop) {
		ctx := context.Background()
		scale, err := env.Client.AppsV1().Deployments(l.ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			l.t.Fatal(err)
		}
		scale.Spec.Replicas = 7
		if _, err := env.Client.AppsV1().Deployments(l.ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
			l.t.Fatal(err)
		}
	}},
	{"autoscaler update", func(l *loop) {
		patch := `{"spec":{"replicas":7}}`
		_, err := env.Client.AppsV1().Deployments(l.ns).Patch(context.Background(), "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "custom-autoscaler"})
		if err != nil {
			l.t.Fatal(err)
		}
	}},
}

// TestIgnoredReplicasStayWhoeverScales ignores /spec/replicas and scales
// the Deployment to 7 each way replicas change, under both drift policies:
// the watch sees no change of what gitopsd manages, so nothing is checked.
// Then kubectl patches the image, which is drift: its report, and its
// correction, come after the scale was seen. No report names replicas, and
// replicas stay 7, through the correction and a periodic reconcile.
func TestIgnoredReplicasStayWhoeverScales(t *testing.T) {
	const image = "spec.template.spec.containers[0].image"
	for _, correct := range []bool{true, false} {
		for _, w := range replicasWriters {
			policy := map[bool]string{true: "correct", false: "report"}[correct]
			t.Run(policy+"/"+w.name, func(t *testing.T) {
				opts := apply.DefaultOptions()
				opts.Ignore = []apply.IgnoreRule{{Group: "apps", Kind: "Deployment", Paths: []string{"/spec/replicas"}}}
				l := newLoop(t, correct, opts, deployment)
				waitFor(t, "the watches to sync", func() bool { return l.synced() })
				w.scale(l)
				if cached, expected := l.watched(); cached != expected {
					t.Errorf("the watch sees the scale as a change: fields %s, applied %s", cached, expected)
				}
				l.kubectl("patch", "deployment/web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}`)
				r := l.waitReport("web", 0)
				if !contains(r.Fields, image) {
					t.Errorf("the image change: %+v", r)
				}
				if correct {
					waitFor(t, "Git's image back", func() bool { return l.image() == "nginx:1.27" })
				}
				l.apply() // a periodic reconcile
				for _, r := range l.reportsSoFar() {
					if contains(r.Fields, "spec.replicas") {
						t.Errorf("ignored replicas reported: %+v", r)
					}
				}
				if got := l.replicas(); got != 7 {
					t.Errorf("replicas = %d, want 7 left alone", got)
				}
				if got, want := l.image(), map[bool]string{true: "nginx:1.27", false: "nginx:1.28"}[correct]; got != want {
					t.Errorf("image = %s, want %s", got, want)
				}
			})
		}
	}
}

// TestTakenOverFieldReportedOnce edits, as kubectl edit does, a field that
// gitopsd set: the report names it once, though both the dry run and
// kubectl's managed fields find it.
func TestTakenOverFieldReportedOnce(t *testing.T) {
	l := newLoop(t, false, apply.DefaultOptions(), configMap)
	cm := l.configMap()
	cm.Data["mode"] = "edited"
	if _, err := env.Client.CoreV1().ConfigMaps(l.ns).Update(context.Background(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	r := l.waitReport("settings", 0)
	if strings.Join(r.Fields, " ") != "data.mode" {
		t.Errorf("fields = %q, want data.mode once", r.Fields)
	}
}

func (l *loop) image() string {
	d, err := env.Client.AppsV1().Deployments(l.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// watched waits until the watch holds the Deployment as it is now, and
// returns the fields hash it holds and the one last applied.
func (l *loop) watched() (cached, expected string) {
	l.t.Helper()
	d, err := env.Client.AppsV1().Deployments(l.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	key := render.Key{Group: "apps", Kind: "Deployment", Namespace: l.ns, Name: "web"}
	waitFor(l.t, "the watch to see the Deployment's last write", func() bool {
		l.detector.mu.Lock()
		defer l.detector.mu.Unlock()
		w := l.detector.watches[schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}]
		if w == nil {
			return false
		}
		obj, ok, _ := w.informer.GetStore().GetByKey(l.ns + "/web")
		if !ok || obj.(*metav1.PartialObjectMetadata).ResourceVersion != d.ResourceVersion {
			return false
		}
		_, cached = w.summary(obj.(*metav1.PartialObjectMetadata))
		expected = l.detector.installations[l.req.Installation].expected[key]
		return true
	})
	return cached, expected
}
