package render

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"

func link(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
}

func file(data string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(data)} }

// TestUnrelatedFilesDoNotMatter renders a kustomization in a repository
// whose other files kyaml's in-memory file system refused, or that cannot
// be read at all.
func TestUnrelatedFilesDoNotMatter(t *testing.T) {
	repo := fstest.MapFS{
		"apps/web/kustomization.yaml":            file("resources: [../base]\n"),
		"apps/base/kustomization.yaml":           file("resources: [cm.yaml]\n"),
		"apps/base/cm.yaml":                      file(strings.ReplaceAll(configMap, "%s", "web")),
		"docs/Getting started/_index.md":         file("# hi\n"),
		"testdata/goodlink/subdir/..file.txt":    file("x\n"),
		"testdata/goodlink/link":                 link("subdir/..file.txt"),
		"testdata/12 replicas, random(0).golden": file("x\n"),
		"testdata/link-to-nowhere/nowhere.json":  link("nowhere"),
		"testdata/out-of-bounds/loop":            link(".."),
		"testdata/self":                          link("self"),
		"testdata/escape":                        link("../../outside"),
	}
	set := mustRender(t, NewRenderer(DefaultOptions(), nil), repo, "apps/web")
	if len(set.Objects) != 1 {
		t.Errorf("rendered %d objects, want 1", len(set.Objects))
	}
}

// TestFilesAreReadOnDemand renders one kustomization of a repository and
// checks that kustomize read its files and no other.
func TestFilesAreReadOnDemand(t *testing.T) {
	repo := fstest.MapFS{
		"apps/web/kustomization.yaml":   file("resources: [../base]\nconfigMapGenerator: [{name: env, envs: [web.env]}]\n"),
		"apps/web/web.env":              file("A=B\n"),
		"apps/base/kustomization.yaml":  file("resources: [cm.yaml]\n"),
		"apps/base/cm.yaml":             file(strings.ReplaceAll(configMap, "%s", "web")),
		"apps/other/kustomization.yaml": file("resources: [cm.yaml]\n"),
		"apps/other/cm.yaml":            file(strings.ReplaceAll(configMap, "%s", "other")),
		"docs/big.md":                   file(strings.Repeat("x", 1<<20)),
	}
	reads := &countingFS{MapFS: repo}
	mustRender(t, NewRenderer(DefaultOptions(), nil), reads, "apps/web")
	got := reads.files()
	want := []string{"apps/base/cm.yaml", "apps/base/kustomization.yaml", "apps/web/kustomization.yaml", "apps/web/web.env"}
	if !slices.Equal(got, want) {
		t.Errorf("files read: %v, want %v", got, want)
	}
}

func TestRepositoryIsReadOnly(t *testing.T) {
	b := newBuild(fstest.MapFS{"a/x.yaml": file("x")}, "a/kustomization.yaml", DefaultOptions())
	f, p := b.fs(), virtualRoot+"/a/x.yaml"
	for name, err := range map[string]error{
		"WriteFile": f.WriteFile(p, []byte("y")),
		"MkdirAll":  f.MkdirAll(virtualRoot + "/a/b"),
		"Mkdir":     f.Mkdir(virtualRoot + "/a/b"),
		"RemoveAll": f.RemoveAll(virtualRoot + "/a"),
	} {
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	if _, err := f.Create(p); err == nil {
		t.Error("Create was not refused")
	}
	if data, err := f.ReadFile(p); err != nil || string(data) != "x" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
}

// TestSymlinksObeyKustomizeRules follows kustomize build on disk: a link is
// resolved, then the file must lie in or below the kustomization's
// directory; a link leaving the repository is refused.
func TestSymlinksObeyKustomizeRules(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "guestbook/kustomization.yaml", "resources: [cm.yaml]\n")
	write(t, repo, "guestbook/cm.yaml", strings.ReplaceAll(configMap, "%s", "guestbook"))
	// A resource linked from outside the kustomization's directory.
	write(t, repo, "partial/kustomization.yaml", "resources: [cm.yaml]\n")
	symlink(t, "../guestbook/cm.yaml", filepath.Join(repo, "partial/cm.yaml"))
	// A kustomization file linked from another directory.
	if err := os.Mkdir(filepath.Join(repo, "linked-kustomization"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "../guestbook/kustomization.yaml", filepath.Join(repo, "linked-kustomization/kustomization.yaml"))
	symlink(t, "../guestbook/cm.yaml", filepath.Join(repo, "linked-kustomization/cm.yaml"))
	// Links that stay inside the kustomization's directory.
	write(t, repo, "inside/kustomization.yaml", "resources: [cm.yaml]\n")
	write(t, repo, "inside/sub/real.yaml", strings.ReplaceAll(configMap, "%s", "inside"))
	symlink(t, "sub/real.yaml", filepath.Join(repo, "inside/cm.yaml"))
	// A base reached through a link to its directory.
	write(t, repo, "overlay/kustomization.yaml", "resources: [linked-base]\n")
	symlink(t, "../guestbook", filepath.Join(repo, "overlay/linked-base"))

	r := NewRenderer(DefaultOptions(), nil)
	for dir, want := range map[string]string{
		"partial":              "security; file 'partial/cm.yaml' is not in or below 'partial'",
		"linked-kustomization": "unable to find one of 'kustomization.yaml'",
	} {
		if _, err := r.Render(context.Background(), os.DirFS(repo), "", dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("render %s: error %v, want %q", dir, err, want)
		}
	}
	for dir, name := range map[string]string{"inside": "inside", "overlay": "guestbook"} {
		set := mustRender(t, r, os.DirFS(repo), dir)
		if len(set.Objects) != 1 || set.Objects[0].GetName() != name {
			t.Errorf("render %s: %d objects", dir, len(set.Objects))
		}
	}
}

// countingFS records the files read from it.
type countingFS struct {
	fstest.MapFS
	mu   sync.Mutex
	read map[string]bool
}

func (c *countingFS) ReadFile(name string) ([]byte, error) {
	c.mu.Lock()
	if c.read == nil {
		c.read = map[string]bool{}
	}
	c.read[name] = true
	c.mu.Unlock()
	return c.MapFS.ReadFile(name)
}

func (c *countingFS) Open(name string) (fs.File, error) {
	f, err := c.MapFS.Open(name)
	if err == nil {
		if info, _ := f.Stat(); info != nil && info.Mode().IsRegular() {
			c.mu.Lock()
			if c.read == nil {
				c.read = map[string]bool{}
			}
			c.read[name] = true
			c.mu.Unlock()
		}
	}
	return f, err
}

func (c *countingFS) files() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for n := range c.read {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
