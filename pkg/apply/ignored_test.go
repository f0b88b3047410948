package apply

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// kubectl runs the real kubectl in the fixture's namespace.
func (f *fixture) kubectl(args ...string) {
	f.t.Helper()
	cmd := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig, "-n", f.ns}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

func (f *fixture) web() *unstructured.Unstructured {
	f.t.Helper()
	d, err := f.get(deployments, f.ns, "web")
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) replicas() int64 {
	f.t.Helper()
	n, _, _ := unstructured.NestedInt64(f.web().Object, "spec", "replicas")
	return n
}

func (f *fixture) checkDrift(set *render.ObjectSet, opts Options) []Drift {
	f.t.Helper()
	key := render.Key{Group: "apps", Kind: "Deployment", Namespace: f.ns, Name: "web"}
	drifts, err := f.manager.CheckDrift(context.Background(), Request{Installation: "app", Namespace: f.ns, Objects: set}, opts, []render.Key{key})
	if err != nil {
		f.t.Fatal(err)
	}
	return drifts
}

// TestIgnoreRuleAddedLaterKeepsTheValue applies replicas from Git, then
// ignores them: neither the diff nor the apply resets them to the default
// of 1, as letting go of a field gitopsd alone set would.
func TestIgnoreRuleAddedLaterKeepsTheValue(t *testing.T) {
	f := newFixture(t)
	set := f.objects(deployment)
	f.apply(set, DefaultOptions())

	diffs, err := f.manager.Diff(context.Background(), Request{Installation: "app", Namespace: f.ns, Objects: set}, ignoreReplicas())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Errorf("the diff once replicas are ignored: %+v, want no change", diffs)
	}
	f.apply(set, ignoreReplicas())
	if got := f.replicas(); got != 2 {
		t.Errorf("replicas = %d once ignored, want Git's last 2 left as they are", got)
	}
}

// TestIgnoredReplicasPatchedByKubectl patches ignored replicas as kubectl
// patch does: that is no drift, under either policy. Nothing is reported,
// skipped or written, and kubectl's 7 stay.
func TestIgnoredReplicasPatchedByKubectl(t *testing.T) {
	f := newFixture(t)
	set := f.objects(deployment)
	f.apply(set, ignoreReplicas())
	f.kubectl("patch", "deployment/web", "-p", `{"spec":{"replicas":7}}`)
	if d := f.checkDrift(set, ignoreReplicas()); len(d) != 0 {
		t.Errorf("ignored replicas patched by kubectl: drift %+v", d)
	}
	for _, report := range []bool{true, false} {
		opts := ignoreReplicas()
		opts.ReportDrift = report
		f.requests.Reset()
		cs := f.apply(set, opts)
		if _, writes := f.requests.Counts(); writes != 0 || actions(cs)["Deployment/web"] != Unchanged {
			t.Errorf("apply (report %v) after kubectl patched ignored replicas: %+v, %d writes", report, cs.Changes, writes)
		}
	}
	if got := f.replicas(); got != 7 {
		t.Errorf("replicas = %d, want kubectl's 7", got)
	}
}

func ignoreReplicas() Options {
	opts := DefaultOptions()
	opts.Ignore = []IgnoreRule{{Group: "apps", Kind: "Deployment", Paths: []string{"/spec/replicas"}}}
	return opts
}

// TestIgnoredFieldInAListElement ignores the args of the first container,
// which managed fields name by the container's name: kubectl's args are
// neither taken over nor reported, while its other fields still are.
func TestIgnoredFieldInAListElement(t *testing.T) {
	f := newFixture(t)
	set := f.objects(deployment)
	opts := DefaultOptions()
	opts.Ignore = []IgnoreRule{{Group: "apps", Kind: "Deployment", Paths: []string{"/spec/template/spec/containers/0/args"}}}
	f.apply(set, opts)
	f.kubectl("patch", "deployment/web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","args":["--debug"]}]}}}}`)
	if d := f.checkDrift(set, opts); len(d) != 0 {
		t.Errorf("ignored args set by kubectl: drift %+v", d)
	}
	if cs := f.apply(set, opts); cs.Err() != nil {
		t.Fatal(cs.Err())
	}
	if got := f.container()["args"]; !slices.Equal(toStrings(got), []string{"--debug"}) {
		t.Errorf("args = %v, want kubectl's left as they are", got)
	}

	f.kubectl("patch", "deployment/web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","workingDir":"/tmp"}]}}}}`)
	d := f.checkDrift(set, opts)
	if len(d) != 1 || !slices.Equal(d[0].Fields, []string{"spec.template.spec.containers[0].workingDir"}) {
		t.Errorf("a field kubectl added beside the ignored ones: %+v", d)
	}
	if cs := f.apply(set, opts); cs.Err() != nil {
		t.Fatal(cs.Err())
	}
	c := f.container()
	if _, ok := c["workingDir"]; ok || !slices.Equal(toStrings(c["args"]), []string{"--debug"}) {
		t.Errorf("after the apply: %v; want workingDir removed and args kept", c)
	}
}

// container is the Deployment's first container.
func (f *fixture) container() map[string]any {
	f.t.Helper()
	containers, _, _ := unstructured.NestedSlice(f.web().Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		f.t.Fatal("the Deployment has no container")
	}
	c, _ := containers[0].(map[string]any)
	return c
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, s := range l {
		out[i], _ = s.(string)
	}
	return out
}

// TestCheckOvertakenByAnotherWrite annotates the object, as a controller
// would, between the drift check's read and its dry run: the annotation is
// no field of gitopsd's, so there is no drift, though the dry run has it
// and the first read does not.
func TestCheckOvertakenByAnotherWrite(t *testing.T) {
	f := newFixture(t)
	set := f.objects(deployment)
	f.apply(set, DefaultOptions())
	var once sync.Once
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTrip(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && req.URL.Query().Get("dryRun") == metav1.DryRunAll {
				once.Do(func() { f.kubectl("annotate", "deployment/web", "example.com/revision=2") })
			}
			return rt.RoundTrip(req)
		})
	})
	m, err := NewManager(cfg, f.store, f.manager.log)
	if err != nil {
		t.Fatal(err)
	}
	f.manager = m
	if d := f.checkDrift(set, DefaultOptions()); len(d) != 0 {
		t.Errorf("a write between the read and the dry run: drift %+v", d)
	}
}
