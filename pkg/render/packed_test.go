package render

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestPackKeepsEveryObjectAsRendered(t *testing.T) {
	repo := fstest.MapFS{"app/objects.yaml": {Data: []byte(`apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  ports: [{port: 80, targetPort: 8080}]
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 10800}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: app, image: "app:1.0", resources: {limits: {cpu: 0.5}}}]
`)}}
	set, err := NewRenderer(DefaultOptions(), nil).Render(context.Background(), repo, "", "app")
	if err != nil {
		t.Fatal(err)
	}
	packed, err := set.Pack()
	if err != nil {
		t.Fatal(err)
	}
	back, err := packed.Unpack()
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest != set.Digest || packed.Digest() != set.Digest || packed.Len() != 2 {
		t.Fatalf("unpacked set digest %s, packed %s, want %s", back.Digest, packed.Digest(), set.Digest)
	}
	for i, o := range back.Objects {
		was := set.Objects[i]
		if o.Digest != was.Digest || o.Source != was.Source || o.Key() != was.Key() || jsonOf(t, o.Unstructured) != jsonOf(t, was.Unstructured) {
			t.Errorf("object %d unpacked as %s %s (%s), want %s %s (%s)", i, o.Key(), jsonOf(t, o.Unstructured), o.Source, was.Key(), jsonOf(t, was.Unstructured), was.Source)
		}
		if d, _ := Digest(o.Unstructured); d != o.Digest {
			t.Errorf("%s: digest of the unpacked object %s, recorded %s", o.Key(), d, o.Digest)
		}
	}
	// Whole numbers come back as Kubernetes' own decoding gives them, so
	// that NestedInt64 reads a replica count of a plain YAML file.
	deployment, service := back.Objects[0], set.Objects[1]
	if deployment.GetKind() != "Deployment" {
		deployment, service = back.Objects[1], set.Objects[0]
	}
	if replicas, ok, err := unstructured.NestedInt64(deployment.Object, "spec", "replicas"); !ok || err != nil || replicas != 2 {
		t.Errorf("spec.replicas unpacked as %v (%v, %v), want int64 2", deployment.Object["spec"], ok, err)
	}
	if again, _ := back.Pack(); again != packed {
		t.Error("an unpacked set packed anew instead of to the set it came from")
	}

	web, err := packed.Select(func(k Key) bool { return k.Kind == "Service" })
	if err != nil {
		t.Fatal(err)
	}
	if len(web.Objects) != 1 || web.Objects[0].GetKind() != "Service" || web.Objects[0].Digest != service.Digest || web.Digest != "" {
		t.Errorf("Select of the Service gave %d objects: %+v", len(web.Objects), web.Objects)
	}
}

// TestRenderCacheIsCompact renders a commit of 2000 objects and measures
// what the renderer keeps of it: packed, a few hundred bytes an object,
// where decoded objects would take several kilobytes.
func TestRenderCacheIsCompact(t *testing.T) {
	var b strings.Builder
	const n = 2000
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-%04d
  namespace: team-%d
  labels: {app: web-%d, tier: backend}
  annotations: {owner: platform}
data:
  app.properties: "name=web-%d\nlog.level=info\ncache.size=%d\n"
  revision: "0"
`, i, i%10, i, i, 64+i)
	}
	repo := fstest.MapFS{"app/objects.yaml": {Data: []byte(b.String())}}
	r := NewRenderer(DefaultOptions(), nil)
	before := heapInUse()
	set, err := r.Render(context.Background(), repo, "c0ffee", "app")
	if err != nil {
		t.Fatal(err)
	}
	decoded := heapInUse() - before
	if len(set.Objects) != n {
		t.Fatalf("rendered %d objects, want %d", len(set.Objects), n)
	}
	// The set is let go of, as a reconcile lets go of it once applied.
	kept := heapInUse() - before
	runtime.KeepAlive(r)
	t.Logf("%d objects: %d bytes an object decoded, %d kept by the cache", n, decoded/n, kept/n)
	if kept > 600*n {
		t.Errorf("the render cache keeps %d bytes an object; want at most 600", kept/n)
	}
	if kept*3 > decoded {
		t.Errorf("the render cache keeps %d bytes an object, more than a third of the %d a decoded object takes", kept/n, decoded/n)
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func jsonOf(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
