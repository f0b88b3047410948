package apply

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func kubectlApply(t *testing.T, manifest string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), "--kubeconfig", env.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

func TestDiff(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secretV := func(v string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\nstringData: {password: " + v + ", user: admin}\n"
	}
	f.apply(f.objects(configMap("settings", "k: v1"), configMap("old", "a: b"), secretV("first-secret-value"), service), DefaultOptions())

	req := Request{Installation: "app", Namespace: f.ns, Objects: f.objects(configMap("settings", "k: v1"), configMap("old", "a: b"), secretV("first-secret-value"), service)}
	diffs, err := f.manager.Diff(ctx, req, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("diff of what is applied: %+v", diffs)
	}

	// kubectl apply leaves the whole Secret in an annotation.
	kubectlApply(t, strings.ReplaceAll(secretV("first-secret-value"), "NS", f.ns))
	req.Objects = f.objects(configMap("settings", "k: v2"), configMap("new", "a: b"), secretV("second-secret-value"), service)
	f.requests.Reset()
	diffs, err = f.manager.Diff(ctx, req, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ObjectDiff{}
	for _, d := range diffs {
		got[d.Key.Kind+"/"+d.Key.Name] = d
	}
	if d := got["ConfigMap/settings"]; d.Action != Configured || !strings.Contains(d.Diff, "-  k: v1") || !strings.Contains(d.Diff, "+  k: v2") {
		t.Errorf("changed ConfigMap: %s\n%s", d.Action, d.Diff)
	}
	if d := got["ConfigMap/new"]; d.Action != Created || !strings.Contains(d.Diff, "+  name: new") {
		t.Errorf("new ConfigMap: %s\n%s", d.Action, d.Diff)
	}
	if d := got["ConfigMap/old"]; d.Action != Deleted {
		t.Errorf("removed ConfigMap: %+v", d)
	}
	d := got["Secret/creds"]
	if d.Action != Configured || !strings.Contains(d.Diff, "+  password: '*** (changed)'") || strings.Contains(d.Diff, "user: '*** (changed)'") ||
		!strings.Contains(d.Diff, "# set by kubectl-client-side-apply and not in Git, so removed: metadata.annotations.kubectl.kubernetes.io/last-applied-configuration") {
		t.Errorf("changed Secret:\n%s", d.Diff)
	}
	if want := []SecretKey{{Key: "password", Change: KeyChanged}}; !reflect.DeepEqual(d.SecretKeys, want) {
		t.Errorf("changed Secret's keys = %+v, want %+v", d.SecretKeys, want)
	}
	for _, d := range diffs {
		if strings.Contains(d.Diff, "secret-value") || strings.Contains(d.Diff, "c2Vjb25k") || strings.Contains(d.Diff, "YWRtaW4") {
			t.Errorf("a secret value leaked into the diff of %s:\n%s", d.Key, d.Diff)
		}
	}
	if _, err := f.get(configMaps, f.ns, "new"); err == nil {
		t.Error("diff created an object")
	}
	if _, err := f.get(configMaps, f.ns, "old"); err != nil {
		t.Error("diff deleted an object")
	}
}

// TestDiffKeepsANamespaceHoldingOthers removes from one installation a
// Namespace in which another installation has an object: the diff says it
// is kept and why, as the apply then does; once the other installation has
// moved out, the diff says it is deleted.
func TestDiffKeepsANamespaceHoldingOthers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ns := f.ns + "-team"
	namespace := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"
	theirs := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs, namespace: " + ns + "}\ndata: {k: v}\n"
	f.applyAs("a", "", nil, f.objects(namespace, configMap("keep", "k: v"), configMap("old", "k: v")), DefaultOptions())
	f.applyAs("b", "", nil, f.objects(theirs), DefaultOptions())
	t.Cleanup(func() { _ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	req := Request{Installation: "a", Namespace: f.ns, Objects: f.objects(configMap("keep", "k: v"))}
	diffs, err := f.manager.Diff(ctx, req, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := "still holds ConfigMap " + ns + "/theirs (installation b)"
	if len(diffs) != 2 || diffs[0].Key.Name != "old" || diffs[0].Action != Deleted ||
		diffs[1].Key.Kind != "Namespace" || diffs[1].Action != Skipped || !strings.Contains(diffs[1].Reason, want) {
		t.Fatalf("diff of the namespace's removal: %+v; want old deleted, the namespace kept: %s", diffs, want)
	}
	cs := f.applyAs("a", "", nil, req.Objects, DefaultOptions())
	if got := actions(cs)["Namespace/"+ns]; got != diffs[1].Action {
		t.Errorf("the apply %s the namespace; the diff said %s", got, diffs[1].Action)
	}

	f.applyAs("b", "", nil, (&renderObjectSet{}).set(), Options{Prune: true, AllowEmpty: true})
	diffs, err = f.manager.Diff(ctx, req, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || diffs[0].Key.Kind != "Namespace" || diffs[0].Action != Deleted {
		t.Errorf("diff once b moved out: %+v; want the namespace deleted", diffs)
	}
}
