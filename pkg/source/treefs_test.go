package source

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// symlinkSnapshot is a snapshot of a tree with every kind of entry and link.
func symlinkSnapshot(t *testing.T) Snapshot {
	t.Helper()
	root := t.TempDir()
	repo := newTestRepo(t, root, "links")
	repo.write(map[string]string{
		"apps/web/deploy.yaml": "kind: Deployment\n",
		"apps/web/svc.yaml":    "kind: Service\n",
		"base/common.yaml":     "kind: ConfigMap\n",
		"bin/run.sh":           "#!/bin/sh\n",
	})
	if err := os.Chmod(filepath.Join(repo.work, "bin/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	repo.symlink("apps/web/common.yaml", "../../base/common.yaml") // file, inside
	repo.symlink("apps/base", "../base")                           // directory, inside
	repo.symlink("apps/web/passwd", "../../../etc/passwd")         // leaves the tree
	repo.symlink("abs", "/etc/passwd")                             // absolute
	repo.symlink("loop/a", "b")
	repo.symlink("loop/b", "a")
	// ".." after a link steps back from where the link led (base), not from
	// the link itself (apps), as a kernel does; a lexical clean would get it wrong.
	repo.symlink("via/link", "../apps/base/../apps/web")
	repo.commit("links", nil)
	return mustPoll(t, newTestPoller(t, testOptions(repo.bare, "main", t.TempDir()), nil))
}

func TestTreeFS(t *testing.T) {
	s := symlinkSnapshot(t)
	fsys := s.Files

	t.Run("read through inside links", func(t *testing.T) {
		for name, want := range map[string]string{
			"apps/web/common.yaml":  "kind: ConfigMap\n",
			"apps/base/common.yaml": "kind: ConfigMap\n",
			"via/link/svc.yaml":     "kind: Service\n",
		} {
			got, err := fs.ReadFile(fsys, name)
			if err != nil || string(got) != want {
				t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
			}
			f, err := fsys.Open(name)
			if err != nil {
				t.Errorf("Open(%s): %v", name, err)
				continue
			}
			b, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil || string(b) != want {
				t.Errorf("read %s = %q, %v", name, b, err)
			}
		}
		entries, err := fs.ReadDir(fsys, "apps/base")
		if err != nil || len(entries) != 1 || entries[0].Name() != "common.yaml" {
			t.Fatalf("ReadDir(apps/base) = %v, %v", entries, err)
		}
	})

	t.Run("escaping links are seen, not followed", func(t *testing.T) {
		for name, target := range map[string]string{
			"apps/web/passwd": "../../../etc/passwd",
			"abs":             "/etc/passwd",
		} {
			got, err := fs.ReadLink(fsys, name)
			if err != nil || got != target {
				t.Errorf("ReadLink(%s) = %q, %v; want %q", name, got, err, target)
			}
			info, err := fs.Lstat(fsys, name)
			if err != nil || info.Mode().Type() != fs.ModeSymlink || info.Name() != name[strings.LastIndex(name, "/")+1:] {
				t.Errorf("Lstat(%s) = %v, %v; want a symlink", name, info, err)
			}
			if f, err := fsys.Open(name); !errors.Is(err, ErrSymlinkEscapes) {
				if f != nil {
					_ = f.Close()
				}
				t.Errorf("Open(%s) error = %v, want ErrSymlinkEscapes", name, err)
			} else if !strings.Contains(err.Error(), target) {
				t.Errorf("Open(%s) error %q does not name the target", name, err)
			}
			if _, err := fs.ReadFile(fsys, name); !errors.Is(err, ErrSymlinkEscapes) {
				t.Errorf("ReadFile(%s) error = %v, want ErrSymlinkEscapes", name, err)
			}
			if _, err := fs.Stat(fsys, name); !errors.Is(err, ErrSymlinkEscapes) {
				t.Errorf("Stat(%s) error = %v, want ErrSymlinkEscapes", name, err)
			}
		}
	})

	t.Run("loops fail", func(t *testing.T) {
		if _, err := fsys.Open("loop/a"); !errors.Is(err, ErrSymlinkLoop) {
			t.Fatalf("Open(loop/a) error = %v, want ErrSymlinkLoop", err)
		}
		if got, err := fs.ReadLink(fsys, "loop/a"); err != nil || got != "b" {
			t.Fatalf("ReadLink(loop/a) = %q, %v", got, err)
		}
	})

	t.Run("directory listing shows links as links", func(t *testing.T) {
		entries, err := fs.ReadDir(fsys, "apps/web")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		types := map[string]fs.FileMode{}
		for _, e := range entries {
			names = append(names, e.Name())
			types[e.Name()] = e.Type()
		}
		if want := []string{"common.yaml", "deploy.yaml", "passwd", "svc.yaml"}; !slices.Equal(names, want) {
			t.Fatalf("names = %v, want %v", names, want)
		}
		if types["common.yaml"] != fs.ModeSymlink || types["passwd"] != fs.ModeSymlink || types["deploy.yaml"] != 0 {
			t.Fatalf("types = %v", types)
		}
		root, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		var top []string
		for _, e := range root {
			top = append(top, e.Name())
		}
		if want := []string{"abs", "apps", "base", "bin", "gitopsd.yaml", "loop", "via"}; !slices.Equal(top, want) {
			t.Fatalf("root = %v, want %v", top, want)
		}
	})

	t.Run("modes and errors", func(t *testing.T) {
		info, err := fs.Stat(fsys, "bin/run.sh")
		if err != nil || info.Mode() != 0o555 || info.Size() != int64(len("#!/bin/sh\n")) || !info.ModTime().Equal(s.Time) {
			t.Fatalf("Stat(bin/run.sh) = %v %v", info, err)
		}
		if info, err := fs.Stat(fsys, "apps"); err != nil || !info.IsDir() {
			t.Fatalf("Stat(apps) = %v, %v", info, err)
		}
		if _, err := fsys.Open("nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open(nope.yaml) = %v, want ErrNotExist", err)
		}
		if _, err := fsys.Open("gitopsd.yaml/x"); err == nil {
			t.Fatal("Open below a file succeeded")
		}
		for _, bad := range []string{"/abs", "../x", "a//b", "apps/"} {
			if _, err := fsys.Open(bad); !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("Open(%q) = %v, want ErrInvalid", bad, err)
			}
		}
		if _, err := fs.ReadLink(fsys, "gitopsd.yaml"); !errors.Is(err, fs.ErrInvalid) {
			t.Fatalf("ReadLink(regular file) = %v, want ErrInvalid", err)
		}
		if _, err := fs.ReadFile(fsys, "apps"); err == nil {
			t.Fatal("ReadFile(directory) succeeded")
		}
	})

	t.Run("concurrent readers", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := fs.WalkDir(fsys, "apps", func(p string, d fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					if d.Type().IsRegular() {
						_, err = fs.ReadFile(fsys, p)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	})
}

func TestTreeFSPassesFSTest(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "clean")
	repo.write(map[string]string{
		"apps/web/deploy.yaml": "kind: Deployment\n",
		"base/common.yaml":     "kind: ConfigMap\n",
		"a-b/x":                "x\n", // sorts differently in git ("a-b/" < "a/") and io/fs
		"a/y":                  "y\n",
	})
	repo.symlink("apps/web/common.yaml", "../../base/common.yaml")
	repo.symlink("apps/base", "../base")
	repo.commit("clean", nil)
	s := mustPoll(t, newTestPoller(t, testOptions(repo.bare, "main", t.TempDir()), nil))
	if err := fstest.TestFS(s.Files, "gitopsd.yaml", "apps/web/deploy.yaml", "apps/web/common.yaml",
		"base/common.yaml", "a-b/x", "a/y"); err != nil {
		t.Fatal(err)
	}
}

func TestDirSnapshot(t *testing.T) {
	dir := t.TempDir()
	repo := newTestRepo(t, dir, "x")
	s, err := DirSnapshot(repo.work)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != "" || s.URL != repo.work {
		t.Fatalf("snapshot = %+v", s)
	}
	if got := readFile(t, s, "gitopsd.yaml"); got != "installations: []\n" {
		t.Fatalf("gitopsd.yaml = %q", got)
	}
	if _, ok := s.Files.(fs.ReadLinkFS); !ok {
		t.Fatal("DirSnapshot files are not an fs.ReadLinkFS")
	}
	if _, err := DirSnapshot(repo.work + "/gitopsd.yaml"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("DirSnapshot(file) = %v", err)
	}
	if _, err := DirSnapshot(dir + "/absent"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("DirSnapshot(absent) = %v", err)
	}
}
