package source

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWorkTreeSnapshot(t *testing.T) {
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "work")
	for _, d := range []string{".git", "apps/web/overlays/prod", "apps/web/base"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "apps/web/base/kustomization.yaml"), []byte("resources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Inside a work tree: the tree is the work tree.
	s, dir, err := WorkTreeSnapshot(filepath.Join(work, "apps/web/overlays/prod"))
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != work || dir != "apps/web/overlays/prod" || s.Commit != "" {
		t.Errorf("snapshot %s, dir %s; want %s and apps/web/overlays/prod", s.URL, dir, work)
	}
	if _, err := fs.Stat(s.Files, "apps/web/base/kustomization.yaml"); err != nil {
		t.Errorf("the base beside the overlay: %v", err)
	}

	// Outside one: the parents as far up as a work tree, or the file
	// system's root, as kustomize sees them.
	if err := os.Remove(filepath.Join(work, ".git")); err != nil {
		t.Fatal(err)
	}
	s, dir, err = WorkTreeSnapshot(filepath.Join(work, "apps/web/overlays/prod"))
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(s.URL, tmp); err != nil || strings.HasPrefix(rel, "..") || filepath.Join(s.URL, dir) != filepath.Join(work, "apps/web/overlays/prod") {
		t.Errorf("snapshot %s, dir %s; want a tree above %s", s.URL, dir, tmp)
	}
	if _, err := fs.Stat(s.Files, filepath.ToSlash(filepath.Join(dir, "../../base/kustomization.yaml"))); err != nil {
		t.Errorf("the base beside the overlay: %v", err)
	}

	if _, _, err := WorkTreeSnapshot(filepath.Join(work, "absent")); err == nil {
		t.Error("a missing directory made a snapshot")
	}
}

// TestDirSnapshotLinks reads links as a consumer resolving them inside the
// tree needs: an absolute target inside the directory as the relative
// link that reaches it, any other as it is.
func TestDirSnapshotLinks(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"a/b/abs":    filepath.Join(dir, "base/x.yaml"),
		"top":        filepath.Join(dir, "base"),
		"a/rel":      "../base",
		"a/b/escape": "/etc/passwd",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := DirSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	for link, want := range map[string]string{
		"a/b/abs": "../../base/x.yaml", "top": "base", "a/rel": "../base", "a/b/escape": "/etc/passwd",
	} {
		if got, err := fs.ReadLink(s.Files, link); err != nil || got != want {
			t.Errorf("ReadLink(%s) = %q, %v; want %q", link, got, err, want)
		}
	}
	if info, err := fs.Lstat(s.Files, "top"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(top) = %v, %v", info, err)
	}
}
