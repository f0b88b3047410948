package results

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFormatRatio(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want string
	}{
		{0, "0×"},
		{0.001, "0.001× (1/1000)"},
		{0.05, "0.05× (1/20)"},
		{0.4321, "0.43×"},
		{1, "1.00×"},
		{12.4, "12×"},
	} {
		if got := FormatRatio(tc.r); got != tc.want {
			t.Errorf("FormatRatio(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{3250 * time.Microsecond, "3.2 ms"},
		{87 * time.Millisecond, "87 ms"},
		{2345 * time.Millisecond, "2.35 s"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	if got := FormatBytes(150 << 20); got != "150.0 MiB" {
		t.Errorf("FormatBytes(150 MiB) = %q", got)
	}
}

func TestReplaceSection(t *testing.T) {
	apply := "# Apply\n\nold apply\n\n## Results\n\n| a |\n"
	drift := "# Drift\n\nold drift\n"
	for _, tc := range []struct {
		name, doc, section, want string
	}{
		{"into an empty file", "", drift, drift},
		{"appended", apply, drift, apply + "\n" + drift},
		{"replaces its own, keeps the other", apply + "\n" + drift, "# Drift\n\nnew drift\n\n", apply + "\n# Drift\n\nnew drift\n"},
		{"keeps the order", apply + "\n" + drift, "# Apply\n\nnew apply\n", "# Apply\n\nnew apply\n\n" + drift},
		{"a second-level heading is not a section", apply, "# Apply\n\n## Results\n\nnew\n", "# Apply\n\n## Results\n\nnew\n"},
	} {
		got, err := ReplaceSection(tc.doc, tc.section)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if _, err := ReplaceSection("", "no heading\n"); err == nil {
		t.Error("a section without a heading was accepted")
	}
}

func TestWriteSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	for _, s := range []string{"# Apply\n\n1\n", "# Drift\n\n2\n", "# Apply\n\n3\n"} {
		if err := WriteSection(path, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Apply\n\n3\n\n# Drift\n\n2\n"; string(got) != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestTables(t *testing.T) {
	md := "# Apply\n\ntext\n\n| objects | engine | time |\n|---:|---|---:|\n| 1000 | flux | 3.15 s |\n| 5000 | flux | 18.60 s |\n\n## Targets\n\n" +
		"| objects | target |\n|:--|---|\n| 5000 | no-op < 100 ms |\n"
	tables, err := Tables(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 || len(tables[0]) != 2 || len(tables[1]) != 1 {
		t.Fatalf("tables = %v", tables)
	}
	if r := tables[0][1]; r["objects"] != "5000" || r["engine"] != "flux" || r["time"] != "18.60 s" {
		t.Errorf("second row = %v", r)
	}
	if r := tables[1][0]; r["target"] != "no-op < 100 ms" {
		t.Errorf("targets row = %v", r)
	}
	for _, bad := range []string{
		"| a | b |\n| 1 | 2 |\n",
		"| a | b |\n|---|---|\n| 1 |\n",
	} {
		if _, err := Tables(bad); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

func TestReadSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	if _, ok, err := ReadSection(path, "Apply"); ok || err != nil {
		t.Errorf("a missing file: %v, %v", ok, err)
	}
	if err := os.WriteFile(path, []byte("# Apply\n\na\n\n# Drift\n\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, ok, err := ReadSection(path, "Drift"); !ok || err != nil || s != "# Drift\n\nd\n" {
		t.Errorf("ReadSection(Drift) = %q, %v, %v", s, ok, err)
	}
	if _, ok, _ := ReadSection(path, "Steady"); ok {
		t.Error("found a section that is not there")
	}
}
