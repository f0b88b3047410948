package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPlanKeepsANamespaceHoldingOthers plans the removal of a Namespace
// in which another installation has an object: the plan says it would be
// kept and why, as applying keeps it, and that is no failure. Text,
// Markdown and JSON all say so.
func TestPlanKeepsANamespaceHoldingOthers(t *testing.T) {
	f := newFixture(t)
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), f.ns+"-team", metav1.DeleteOptions{})
	})
	fleet := "- {name: a, path: a}\n- {name: b, path: b}\n"
	theirs := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs, namespace: NS-team}\ndata: {k: v}\n"
	f.apply(f.snapshot("c1", map[string]string{
		fleetFile:        fleet,
		"a/objects.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS-team}\n" + configMap("settings", "k: v"),
		"b/objects.yaml": theirs,
	}))

	p := f.plan(Request{Installation: "a", Head: f.snapshot("c2", map[string]string{
		fleetFile:        fleet,
		"a/objects.yaml": configMap("settings", "k: v"),
		"b/objects.yaml": theirs,
	})})
	a := installation(t, p, "a")
	ns := objects(a)["Namespace/"+f.ns+"-team"]
	if ns.Action != Keep || !strings.Contains(ns.Reason, "still holds ConfigMap "+f.ns+"-team/theirs (installation b)") {
		t.Errorf("the namespace: %+v, want kept, naming b's ConfigMap", ns)
	}
	if s := p.Summary(); s.String() != "0 to create, 0 to change, 0 to delete, 1 unchanged" || s.Failed() {
		t.Errorf("summary: %s", s)
	}
	var text bytes.Buffer
	if err := WriteText(&text, p); err != nil {
		t.Fatal(err)
	}
	if line := "# a: Namespace/" + f.ns + "-team would be kept: still holds ConfigMap "; !strings.Contains(text.String(), line) {
		t.Errorf("the text plan has no %q:\n%s", line, text.String())
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	if line := "- 📌 keep <code>Namespace/" + f.ns + "-team</code>: still holds ConfigMap " + f.ns + "-team/theirs (installation b)"; !strings.Contains(md.String(), line) {
		t.Errorf("the Markdown plan has no %q:\n%s", line, md.String())
	}
	if strings.Contains(md.String(), "create <code>Namespace/") {
		t.Errorf("the Markdown plan shows the kept Namespace as created:\n%s", md.String())
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	var decoded Plan
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if kept := objects(installation(t, &decoded, "a"))["Namespace/"+f.ns+"-team"]; kept.Action != Keep || kept.Reason != ns.Reason {
		t.Errorf("the JSON plan's namespace: %+v, want kept: %s", kept, ns.Reason)
	}
}
