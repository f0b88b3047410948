package command

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes(" 1000, 5000 ,")
	if err != nil || !slices.Equal(got, []int{1000, 5000}) {
		t.Fatalf("ParseSizes = %v, %v; want [1000 5000]", got, err)
	}
	if _, err := ParseSizes("1000,x"); err == nil || !strings.HasPrefix(err.Error(), "-n: ") {
		t.Fatalf("ParseSizes(1000,x) error = %v; want one naming -n", err)
	}
}

func TestCheckSizes(t *testing.T) {
	if err := CheckSizes([]int{1000}); err != nil {
		t.Fatal(err)
	}
	for _, sizes := range [][]int{nil, {1000, 5}} {
		if err := CheckSizes(sizes); err == nil {
			t.Errorf("CheckSizes(%v) accepted", sizes)
		}
	}
}

func TestPublishReplacesItsSection(t *testing.T) {
	out := filepath.Join(t.TempDir(), "RESULTS.md")
	if err := os.WriteFile(out, []byte("# Other\n\nkept\n\n# Mine\n\nold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := Publish(&stdout, out, "# Mine\n\nnew\n"); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "# Mine\n\nnew\n" {
		t.Errorf("stdout = %q", stdout.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(data); !strings.Contains(s, "kept") || !strings.Contains(s, "new") || strings.Contains(s, "old") {
		t.Errorf("RESULTS.md:\n%s", s)
	}
	if err := Publish(&stdout, "", "# Mine\n"); err != nil {
		t.Errorf("no -out: %v", err)
	}
}
