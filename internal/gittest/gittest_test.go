package gittest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestServedRefs: a branch commit and a pull request ref are served to a
// real git clone over HTTP.
func TestServedRefs(t *testing.T) {
	root := t.TempDir()
	srv, err := NewServer(root)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	repo, err := NewRepo(root, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("main", "first", map[string]string{"a.txt": "main\n"}); err != nil {
		t.Fatal(err)
	}
	head, err := repo.Commit("change", "second", map[string]string{"a.txt": "change\n", "b.txt": "new\n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetRef("refs/pull/1/head", head); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	if _, err := Git(root, "clone", "--quiet", srv.URL+"/fleet.git", clone); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(clone, "a.txt")); string(data) != "main\n" {
		t.Fatalf("main's a.txt = %q", data)
	}
	if _, err := Git(clone, "fetch", "--quiet", "origin", "refs/pull/1/head"); err != nil {
		t.Fatal(err)
	}
	if got, _ := Git(clone, "rev-parse", "FETCH_HEAD"); got != head {
		t.Fatalf("refs/pull/1/head = %s, want %s", got, head)
	}
	if srv.Fetches.Load() < 2 {
		t.Fatalf("fetches counted: %d", srv.Fetches.Load())
	}
}
