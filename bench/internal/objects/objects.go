package objects

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// LabelSet marks every generated object with the prefix of its set, so that
// the objects of one engine and one repetition can be counted with a list.
const LabelSet = "bench.gitopsd.io/set"

// NamespaceShare is one namespace for every this many objects; a set needs
// at least this many.
const NamespaceShare = 100

// Mix is the kinds of the namespaced objects, and how many of each one
// namespace holds per NamespaceShare-1 objects.
var Mix = []struct {
	Kind  string
	Count int
}{
	{"ConfigMap", 25},
	{"Secret", 20},
	{"Service", 12},
	{"ServiceAccount", 12},
	{"Deployment", 12},
	{"Role", 9},
	{"RoleBinding", 9},
}

// kindCycle lists the kinds of Mix interleaved, so that any run of objects
// in a namespace holds every kind in proportion.
var kindCycle = func() []string {
	var cycle []string
	for round := 0; len(cycle) < NamespaceShare-1; round++ {
		for _, m := range Mix {
			if round < m.Count {
				cycle = append(cycle, m.Kind)
			}
		}
	}
	return cycle
}()

// Resources maps the generated kinds to their API resources.
var Resources = map[string]schema.GroupVersionResource{
	"Namespace":      {Version: "v1", Resource: "namespaces"},
	"ConfigMap":      {Version: "v1", Resource: "configmaps"},
	"Secret":         {Version: "v1", Resource: "secrets"},
	"Service":        {Version: "v1", Resource: "services"},
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Deployment":     {Group: "apps", Version: "v1", Resource: "deployments"},
	"Role":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
}

// Set is one generated set of objects, such as one engine's for one
// repetition.
type Set struct {
	// Prefix names the set's namespaces and is the value of LabelSet.
	Prefix string
	// Objects are the namespaces first, then the objects of each namespace.
	Objects []*unstructured.Unstructured
}

// Generate returns n objects: one Namespace per NamespaceShare objects (at
// least one), and the namespaced objects of Mix spread evenly across them.
func Generate(prefix string, n int) *Set {
	namespaces := max(1, n/NamespaceShare)
	rest := n - namespaces
	s := &Set{Prefix: prefix}
	for j := range namespaces {
		s.Objects = append(s.Objects, namespace(prefix, fmt.Sprintf("%s-ns-%03d", prefix, j)))
	}
	for j := range namespaces {
		ns := s.Objects[j].GetName()
		count := rest / namespaces
		if j < rest%namespaces {
			count++
		}
		for i := range count {
			s.Objects = append(s.Objects, namespaced(prefix, ns, kindCycle[i%len(kindCycle)], i))
		}
	}
	return s
}

// Change edits the set's first ConfigMap, so that applying the set again
// changes exactly one object; round makes each change differ from the last.
func (s *Set) Change(round int) string {
	for _, o := range s.Objects {
		if o.GetKind() == "ConfigMap" {
			_ = unstructured.SetNestedField(o.Object, strconv.Itoa(round), "data", "revision")
			return o.GetNamespace() + "/" + o.GetName()
		}
	}
	panic("objects: a set without a ConfigMap cannot be changed")
}

// KindCounts counts the set's objects by kind.
func (s *Set) KindCounts() map[string]int {
	counts := map[string]int{}
	for _, o := range s.Objects {
		counts[o.GetKind()]++
	}
	return counts
}

// WriteDir writes the set as YAML files into dir for kubectl: the
// namespaces in one file that sorts first, since kubectl applies files in
// name order, then one file per namespace.
func (s *Set) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]*strings.Builder{}
	var order []string
	for _, o := range s.Objects {
		name := "00-namespaces.yaml"
		if o.GetNamespace() != "" {
			name = o.GetNamespace() + ".yaml"
		}
		b, ok := files[name]
		if !ok {
			b = &strings.Builder{}
			files[name] = b
			order = append(order, name)
		}
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	for _, name := range order {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(files[name].String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func namespace(prefix, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   objectMeta(prefix, "", name),
	}}
}

// namespaced returns the i-th object of namespace ns, of kind: small,
// but shaped like what teams keep in Git.
func namespaced(prefix, ns, kind string, i int) *unstructured.Unstructured {
	name := fmt.Sprintf("%s-%03d", strings.ToLower(kind), i)
	obj := map[string]any{"kind": kind, "metadata": objectMeta(prefix, ns, name)}
	app := map[string]any{"app": name}
	switch kind {
	case "ConfigMap":
		obj["apiVersion"] = "v1"
		obj["data"] = map[string]any{
			"app.properties": fmt.Sprintf("name=%s\nlog.level=info\ncache.size=%d\n", name, 64+i),
			"revision":       "0",
		}
	case "Secret":
		obj["apiVersion"] = "v1"
		obj["type"] = "Opaque"
		obj["data"] = map[string]any{
			"username": base64.StdEncoding.EncodeToString([]byte(name)),
			"password": base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("s3cr3t-%s-%d", ns, i))),
		}
	case "Service":
		obj["apiVersion"] = "v1"
		// Headless: the plane's service range holds only 254 addresses.
		obj["spec"] = map[string]any{
			"clusterIP": "None",
			"selector":  app,
			"ports":     []any{map[string]any{"name": "http", "port": int64(80), "targetPort": int64(8080)}},
		}
	case "ServiceAccount":
		obj["apiVersion"] = "v1"
	case "Deployment":
		obj["apiVersion"] = "apps/v1"
		obj["spec"] = map[string]any{
			"replicas": int64(2),
			"selector": map[string]any{"matchLabels": app},
			"template": map[string]any{
				"metadata": map[string]any{"labels": app},
				"spec": map[string]any{
					"containers": []any{map[string]any{
						"name":  "app",
						"image": "registry.example.com/team/app:1.4.2",
						"ports": []any{map[string]any{"containerPort": int64(8080)}},
						"env":   []any{map[string]any{"name": "INSTANCE", "value": name}},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "10m", "memory": "16Mi"},
						},
					}},
				},
			},
		}
	case "Role":
		obj["apiVersion"] = "rbac.authorization.k8s.io/v1"
		obj["rules"] = []any{map[string]any{
			"apiGroups": []any{""},
			"resources": []any{"configmaps", "secrets"},
			"verbs":     []any{"get", "list", "watch"},
		}}
	case "RoleBinding":
		obj["apiVersion"] = "rbac.authorization.k8s.io/v1"
		obj["roleRef"] = map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": fmt.Sprintf("role-%03d", i)}
		obj["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": "default", "namespace": ns}}
	default:
		panic("objects: no template for kind " + kind)
	}
	return &unstructured.Unstructured{Object: obj}
}

func objectMeta(prefix, ns, name string) map[string]any {
	md := map[string]any{"name": name, "labels": map[string]any{LabelSet: prefix}}
	if ns != "" {
		md["namespace"] = ns
	}
	return md
}
