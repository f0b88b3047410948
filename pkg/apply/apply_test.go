package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestApplyCreatesThenNoOpWritesNothing(t *testing.T) {
	f := newFixture(t)
	set := f.objects(configMap("settings", "a: b"), secret, service, deployment,
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: NS-reader}\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n")
	cs := f.apply(set, DefaultOptions())
	if err := cs.Err(); err != nil {
		t.Fatal(err)
	}
	if got := cs.Counts()[Created]; got != 5 {
		t.Fatalf("created %d objects, want 5: %v", got, actions(cs))
	}
	cm, err := f.get(configMaps, f.ns, "settings")
	if err != nil {
		t.Fatal(err)
	}
	if cm.GetLabels()[LabelInstallation] != "app" {
		t.Errorf("labels = %v, want %s=app", cm.GetLabels(), LabelInstallation)
	}

	for round := range 3 {
		f.requests.Reset()
		cs = f.apply(set, DefaultOptions())
		reads, writes := f.requests.Counts()
		if got := cs.Counts()[Unchanged]; got != 5 {
			t.Errorf("round %d: %d unchanged, want 5: %v", round, got, actions(cs))
		}
		if writes != 0 {
			t.Errorf("round %d: a no-op apply wrote %d times: %v", round, writes, f.requests.Log())
		}
		// One inventory read and one list per kind, whatever the number of objects.
		if reads > 1+5 {
			t.Errorf("round %d: a no-op apply read %d times, want at most 6: %v", round, reads, f.requests.Log())
		}
	}
}

func TestChangedObjectIsTheOnlyOneSent(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects(configMap("a", "k: v1"), configMap("b", "k: v1"), service), DefaultOptions())
	f.requests.Reset()
	cs := f.apply(f.objects(configMap("a", "k: v2"), configMap("b", "k: v1"), service), DefaultOptions())
	want := map[string]Action{"ConfigMap/a": Configured, "ConfigMap/b": Unchanged, "Service/web": Unchanged}
	for k, a := range want {
		if actions(cs)[k] != a {
			t.Errorf("%s: %s, want %s", k, actions(cs)[k], a)
		}
	}
	var patches int
	for _, r := range f.requests.Log() {
		if strings.HasPrefix(r, "PATCH") {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("sent %d patches, want 1: %v", patches, f.requests.Log())
	}
	cm, _ := f.get(configMaps, f.ns, "a")
	if cm.Object["data"].(map[string]any)["k"] != "v2" {
		t.Errorf("data = %v", cm.Object["data"])
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t)
	keep := strings.Replace(configMap("keep", "a: b"), "metadata: {", "metadata: {annotations: {gitopsd.io/prune: disabled}, ", 1)
	f.apply(f.objects(configMap("stays", "a: b"), configMap("goes", "a: b"), keep, configMap("relabelled", "a: b")), DefaultOptions())

	// Someone takes "relabelled" away from gitopsd.
	patch := `{"metadata":{"labels":{"gitopsd.io/installation":"someone-else"}}}`
	if _, err := f.dynamic.Resource(configMaps).Namespace(f.ns).Patch(context.Background(), "relabelled", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cs := f.apply(f.objects(configMap("stays", "a: b")), DefaultOptions())
	want := map[string]Action{"ConfigMap/stays": Unchanged, "ConfigMap/goes": Deleted, "ConfigMap/keep": Skipped, "ConfigMap/relabelled": Skipped}
	for k, a := range want {
		if actions(cs)[k] != a {
			t.Errorf("%s: %s, want %s (%v)", k, actions(cs)[k], a, cs.Changes)
		}
	}
	for name, exists := range map[string]bool{"stays": true, "goes": false, "keep": true, "relabelled": true} {
		_, err := f.get(configMaps, f.ns, name)
		if (err == nil) != exists {
			t.Errorf("ConfigMap %s exists=%v, want %v", name, err == nil, exists)
		}
	}
	inv, _ := f.store.Load(context.Background(), "app")
	if len(inv.Entries) != 1 || inv.Entries[0].Name != "stays" {
		t.Errorf("inventory keeps %v, want only stays", inv.Entries)
	}

	// With prune off, nothing is deleted and the stale object stays owned.
	f.apply(f.objects(configMap("stays", "a: b"), configMap("later", "a: b")), DefaultOptions())
	opts := DefaultOptions()
	opts.Prune = false
	f.apply(f.objects(configMap("stays", "a: b")), opts)
	if _, err := f.get(configMaps, f.ns, "later"); err != nil {
		t.Errorf("prune=false deleted an object: %v", err)
	}
	if cs := f.apply(f.objects(configMap("stays", "a: b")), DefaultOptions()); actions(cs)["ConfigMap/later"] != Deleted {
		t.Errorf("an object kept by prune=false was not pruned once prune was on: %v", cs.Changes)
	}
}

func TestEmptyRenderIsRefused(t *testing.T) {
	f := newFixture(t)
	f.apply(f.objects(configMap("a", "k: v")), DefaultOptions())
	empty := &renderObjectSet{}
	_, err := f.manager.Apply(context.Background(), Request{Installation: "app", Namespace: f.ns, Objects: empty.set()}, DefaultOptions())
	var refused *EmptyRenderError
	if !errors.As(err, &refused) {
		t.Fatalf("empty render: %v, want an EmptyRenderError", err)
	}
	if _, err := f.get(configMaps, f.ns, "a"); err != nil {
		t.Errorf("refused apply pruned anyway: %v", err)
	}
	opts := DefaultOptions()
	opts.AllowEmpty = true
	cs, err := f.manager.Apply(context.Background(), Request{Installation: "app", Namespace: f.ns, Objects: empty.set()}, opts)
	if err != nil || actions(cs)["ConfigMap/a"] != Deleted {
		t.Errorf("allowed empty render: %v, %v", cs, err)
	}
}

func TestImmutableFieldChange(t *testing.T) {
	f := newFixture(t)
	job := func(image, annotations string) string {
		return `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: NS` + annotations + `}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: ` + image + `}]
`
	}
	f.apply(f.objects(job("migrate:1", "")), DefaultOptions())
	cs := f.apply(f.objects(job("migrate:2", "")), DefaultOptions())
	if len(cs.Changes) != 1 || cs.Changes[0].Action != Failed || !IsImmutable(cs.Changes[0].Err) {
		t.Fatalf("changing a Job template: %+v, want an immutable-field failure", cs.Changes)
	}
	if msg := cs.Changes[0].Reason; !strings.Contains(msg, "immutable") || !strings.Contains(msg, AnnotationRecreate) {
		t.Errorf("reason %q does not explain the fix", msg)
	}

	before, _ := f.get(jobs, f.ns, "migrate")
	cs = f.apply(f.objects(job("migrate:2", ", annotations: {gitopsd.io/recreate: 'true'}")), DefaultOptions())
	if err := cs.Err(); err != nil || cs.Changes[0].Action != Configured || !strings.Contains(cs.Changes[0].Reason, "recreated") {
		t.Fatalf("recreate: %+v", cs.Changes)
	}
	after, _ := f.get(jobs, f.ns, "migrate")
	if after.GetUID() == before.GetUID() {
		t.Error("the Job was not recreated")
	}
}

func TestGitWinsOverKubectlFields(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.apply(f.objects(configMap("settings", "mode: git")), DefaultOptions())

	// kubectl edit: changes a field gitopsd set, and adds one.
	cm, _ := f.get(configMaps, f.ns, "settings")
	cm.Object["data"] = map[string]any{"mode": "edited", "extra": "by-hand"}
	if _, err := f.dynamic.Resource(configMaps).Namespace(f.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	cs := f.apply(f.objects(configMap("settings", "mode: git")), DefaultOptions())
	if actions(cs)["ConfigMap/settings"] != Configured {
		t.Errorf("an edited object was %s, want configured", actions(cs)["ConfigMap/settings"])
	}
	cm, _ = f.get(configMaps, f.ns, "settings")
	if data := cm.Object["data"].(map[string]any); data["mode"] != "git" || data["extra"] != nil {
		t.Errorf("data after apply = %v, want only mode=git", data)
	}
	for _, mf := range cm.GetManagedFields() {
		if mf.Manager == "kubectl-edit" {
			t.Errorf("kubectl-edit still manages fields: %s", mf.FieldsV1.Raw)
		}
	}
}

// TestFieldAddedByKubectlIsRemoved adds a field gitopsd never set with
// kubectl edit; Git does not have it, so applying the same commit again
// removes it.
func TestFieldAddedByKubectlIsRemoved(t *testing.T) {
	f := newFixture(t)
	set := f.objects(configMap("settings", "mode: git"))
	f.apply(set, DefaultOptions())
	cm, _ := f.get(configMaps, f.ns, "settings")
	cm.Object["data"].(map[string]any)["extra"] = "by-hand"
	if _, err := f.dynamic.Resource(configMaps).Namespace(f.ns).Update(context.Background(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	cs := f.apply(set, DefaultOptions())
	if actions(cs)["ConfigMap/settings"] != Configured {
		t.Errorf("an object with a field added by hand was %s", actions(cs)["ConfigMap/settings"])
	}
	cm, _ = f.get(configMaps, f.ns, "settings")
	if extra := cm.Object["data"].(map[string]any)["extra"]; extra != nil {
		t.Errorf("the field added by hand is still there: %v", extra)
	}
}

func TestCustomResourceWithItsDefinition(t *testing.T) {
	f := newFixture(t)
	group := f.ns + ".example.com"
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.` + group + `}
spec:
  group: ` + group + `
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`
	widget := "apiVersion: " + group + "/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n"
	cs := f.apply(f.objects(widget, crd), DefaultOptions())
	if err := cs.Err(); err != nil {
		t.Fatal(err)
	}
	if got := actions(cs); got["Widget/w1"] != Created || got["CustomResourceDefinition/widgets."+group] != Created {
		t.Fatalf("actions = %v", got)
	}
	if cs.Changes[0].Key.Kind != "CustomResourceDefinition" {
		t.Errorf("the CRD was not applied first: %v", cs.Changes)
	}
	if cs.Changes[1].Key.Namespace != f.ns {
		t.Errorf("the Widget did not get the default namespace: %v", cs.Changes[1].Key)
	}
	f.requests.Reset()
	if cs := f.apply(f.objects(widget, crd), DefaultOptions()); cs.Counts()[Unchanged] != 2 {
		t.Errorf("second apply: %v", actions(cs))
	}
}

func TestUnknownKindFailsAloneWithAClearError(t *testing.T) {
	f := newFixture(t)
	cs := f.apply(f.objects(configMap("fine", "a: b"), "apiVersion: nope.example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: NS}\n"), DefaultOptions())
	if actions(cs)["ConfigMap/fine"] != Created {
		t.Errorf("the known object was %s", actions(cs)["ConfigMap/fine"])
	}
	if actions(cs)["Gadget/g"] != Failed {
		t.Fatalf("Gadget: %s", actions(cs)["Gadget/g"])
	}
	for _, c := range cs.Changes {
		if c.Key.Kind == "Gadget" && !strings.Contains(c.Reason, "does not serve kind Gadget in nope.example.com/v1") {
			t.Errorf("reason %q", c.Reason)
		}
	}
}

func TestSecretValuesStayOutOfResults(t *testing.T) {
	f := newFixture(t)
	bad := "apiVersion: v1\nkind: Secret\nmetadata: {name: bad, namespace: NS}\ntype: kubernetes.io/tls\nstringData: {password: hunter2-very-secret}\n"
	cs := f.apply(f.objects(secret, bad), DefaultOptions())
	if actions(cs)["Secret/bad"] != Failed {
		t.Fatalf("a TLS secret without its keys: %v", actions(cs))
	}
	for _, c := range cs.Changes {
		if strings.Contains(c.Reason, "hunter2") || (c.Err != nil && strings.Contains(c.Err.Error(), "hunter2")) {
			t.Errorf("a secret value leaked into %+v", c)
		}
	}
}

func TestWaitForHealth(t *testing.T) {
	f := newFixture(t)
	cs := f.apply(f.objects(deployment, service), DefaultOptions())
	if err := f.manager.Wait(context.Background(), cs, 30*time.Second); err != nil {
		t.Fatalf("a Deployment on fake nodes did not become healthy: %v", err)
	}
	stuck := strings.Replace(deployment, "name: web, namespace", "name: stuck, namespace", 1)
	stuck = strings.Replace(stuck, "containers:", "nodeSelector: {nowhere: 'true'}\n      containers:", 1)
	cs = f.apply(f.objects(deployment, service, stuck), DefaultOptions())
	err := f.manager.Wait(context.Background(), cs, 2*time.Second)
	var notReady *NotReadyError
	if !errors.As(err, &notReady) || len(notReady.Objects) != 1 || notReady.Objects[0].Key.Name != "stuck" {
		t.Fatalf("waiting for an unschedulable Deployment: %v", err)
	}
	if !strings.Contains(err.Error(), "Deployment.apps/"+f.ns+"/stuck") {
		t.Errorf("error %q does not name the Deployment", err)
	}
	// The retry finds nothing to change, and still knows it is not healthy.
	cs = f.apply(f.objects(deployment, service, stuck), DefaultOptions())
	if cs.Counts()[Unchanged] != 3 {
		t.Fatalf("retry: %v", actions(cs))
	}
	if err := f.manager.Wait(context.Background(), cs, 2*time.Second); !errors.As(err, &notReady) {
		t.Errorf("a retry that changed nothing reported an unhealthy Deployment healthy: %v", err)
	}
}
