package apply

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// TestObjectsOfAFailedDefinitionAreSkipped applies a CustomResourceDefinition
// the API server refuses with a resource of its kind: the resource is
// skipped with that reason, never sent, and the rest applies.
func TestObjectsOfAFailedDefinitionAreSkipped(t *testing.T) {
	f := newFixture(t)
	group := f.ns + ".example.com"
	// Two storage versions: the API server refuses the definition.
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.` + group + `}
spec:
  group: ` + group + `
  names: {kind: Gizmo, plural: gizmos, singular: gizmo, listKind: GizmoList}
  scope: Namespaced
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
    - {name: v2, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`
	gizmo := "apiVersion: " + group + "/v1\nkind: Gizmo\nmetadata: {name: g1}\n"
	f.requests.Reset()
	cs := f.apply(f.objects(crd, gizmo, configMap("fine", "a: b")), DefaultOptions())
	got := actions(cs)
	if got["CustomResourceDefinition/gizmos."+group] != Failed || got["Gizmo/g1"] != Skipped || got["ConfigMap/fine"] != Created {
		t.Fatalf("a refused definition and its resource: %v", cs.Changes)
	}
	for _, c := range cs.Changes {
		if c.Key.Kind == "Gizmo" && c.Reason != "its CustomResourceDefinition gizmos."+group+" failed" {
			t.Errorf("the resource's reason %q does not name its failed definition", c.Reason)
		}
	}
	for _, r := range f.requests.Log() {
		if strings.Contains(r, "/apis/"+group+"/") {
			t.Errorf("a resource of the failed definition was sent: %s", r)
		}
	}
}

// syncWriter collects a log written from several goroutines.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestSecretValuesNeverLogged captures the debug log of applies of Secrets
// (created, changed, refused by the API server, changing an immutable one)
// and of a diff of a changed Secret that kubectl last applied, and searches
// it, the ChangeSets and the diffs for the values, plain and base64.
func TestSecretValuesNeverLogged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	logs := &syncWriter{}
	m, err := NewManager(env.Config, f.store, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	f.manager = m
	values := []string{"first-password-value", "second-password-value", "token-in-data-value", "docker-config-value", "immutable-value-one", "immutable-value-two"}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	secret := func(name, password string, extra string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + ", namespace: NS}\n" + extra +
			"stringData: {password: " + password + "}\ndata: {token: " + b64("token-in-data-value") + "}\n"
	}
	// The API server refuses a docker config that is not JSON.
	docker := "apiVersion: v1\nkind: Secret\nmetadata: {name: docker, namespace: NS}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: " + b64("{docker-config-value") + "}\n"

	var results []string
	record := func(cs *ChangeSet) {
		for _, c := range cs.Changes {
			results = append(results, c.Reason)
			if c.Err != nil {
				results = append(results, c.Err.Error())
			}
		}
	}
	cs := f.apply(f.objects(secret("creds", "first-password-value", ""), docker, secret("frozen", "immutable-value-one", "immutable: true\n")), DefaultOptions())
	record(cs)
	if got := actions(cs); got["Secret/creds"] != Created || got["Secret/docker"] != Failed || got["Secret/frozen"] != Created {
		t.Fatalf("first apply: %v", cs.Changes)
	}
	cs = f.apply(f.objects(secret("creds", "second-password-value", ""), docker, secret("frozen", "immutable-value-two", "immutable: true\n")), DefaultOptions())
	record(cs)
	if got := actions(cs); got["Secret/creds"] != Configured || got["Secret/frozen"] != Failed {
		t.Fatalf("second apply: %v", cs.Changes)
	}

	// kubectl apply leaves the whole Secret in an annotation; then Git changes.
	kubectlApply(t, strings.ReplaceAll(secret("creds", "second-password-value", ""), "NS", f.ns))
	diffs, err := m.Diff(ctx, Request{Installation: "app", Namespace: f.ns, Objects: f.objects(secret("creds", "first-password-value", ""))}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for _, d := range diffs {
		results = append(results, d.Diff, d.Reason)
		changed = changed || d.Key.Name == "creds" && d.Action == Configured
	}
	if !changed {
		t.Fatalf("the diff does not show the changed Secret: %+v", diffs)
	}

	log := logs.String()
	if !strings.Contains(log, `"level":"DEBUG"`) || !strings.Contains(log, "Secret/"+f.ns+"/creds") {
		t.Fatalf("the debug log was not captured:\n%s", log)
	}
	for _, v := range values {
		for _, form := range []string{v, b64(v), b64(v)[:len(b64(v))-4]} {
			if strings.Contains(log, form) {
				t.Errorf("the log holds the secret value %q as %q:\n%s", v, form, log)
			}
			for _, r := range results {
				if strings.Contains(r, form) {
					t.Errorf("a result holds the secret value %q as %q: %s", v, form, r)
				}
			}
		}
	}
}
