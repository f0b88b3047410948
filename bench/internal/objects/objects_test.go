package objects

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateMix(t *testing.T) {
	for _, tc := range []struct {
		n          int
		namespaces int
	}{
		{n: 100, namespaces: 1},
		{n: 1000, namespaces: 10},
		{n: 5000, namespaces: 50},
		{n: 1234, namespaces: 12},
	} {
		s := Generate("g-1", tc.n)
		if len(s.Objects) != tc.n {
			t.Errorf("Generate(%d) made %d objects", tc.n, len(s.Objects))
		}
		counts := s.KindCounts()
		if counts["Namespace"] != tc.namespaces {
			t.Errorf("Generate(%d) made %d namespaces, want %d", tc.n, counts["Namespace"], tc.namespaces)
		}
		// Every kind of the mix appears in proportion to its weight.
		namespaced := tc.n - tc.namespaces
		for _, m := range Mix {
			want := float64(namespaced) * float64(m.Count) / float64(NamespaceShare-1)
			if got := float64(counts[m.Kind]); got < want-float64(tc.namespaces) || got > want+float64(tc.namespaces) {
				t.Errorf("Generate(%d) made %v %ss, want about %.0f", tc.n, got, m.Kind, want)
			}
		}
	}
}

func TestGenerateNamesAndLabels(t *testing.T) {
	s := Generate("flux-1000-r2", 1000)
	seen := map[string]bool{}
	for i, o := range s.Objects {
		if o.GetLabels()[LabelSet] != "flux-1000-r2" {
			t.Fatalf("%s %s has labels %v", o.GetKind(), o.GetName(), o.GetLabels())
		}
		if !strings.HasPrefix(o.GetNamespace()+o.GetName(), "flux-1000-r2-ns-") {
			t.Fatalf("%s %s/%s is outside the set's namespaces", o.GetKind(), o.GetNamespace(), o.GetName())
		}
		if i < 10 && o.GetKind() != "Namespace" {
			t.Fatalf("object %d is a %s; namespaces come first", i, o.GetKind())
		}
		key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
		if seen[key] {
			t.Fatalf("%s is generated twice", key)
		}
		seen[key] = true
	}
}

func TestChangeEditsOneConfigMap(t *testing.T) {
	before := Generate("g", 200)
	after := Generate("g", 200)
	changed := after.Change(1)
	var diffs []string
	for i := range before.Objects {
		b, _ := before.Objects[i].MarshalJSON()
		a, _ := after.Objects[i].MarshalJSON()
		if string(a) != string(b) {
			diffs = append(diffs, after.Objects[i].GetKind()+" "+after.Objects[i].GetNamespace()+"/"+after.Objects[i].GetName())
		}
	}
	if len(diffs) != 1 || diffs[0] != "ConfigMap "+changed {
		t.Fatalf("Change changed %v, reported %s", diffs, changed)
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	if err := Generate("k", 300).WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	docs := 0
	for _, e := range entries {
		names = append(names, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		docs += strings.Count(string(data), "---\n")
	}
	if want := []string{"00-namespaces.yaml", "k-ns-000.yaml", "k-ns-001.yaml", "k-ns-002.yaml"}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files %v, want %v", names, want)
	}
	if docs != 300 {
		t.Errorf("%d YAML documents, want 300", docs)
	}
}
