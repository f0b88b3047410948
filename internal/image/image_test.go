package image

import (
	"archive/tar"
	"context"
	"crypto/x509"
	"debug/buildinfo"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const testTag = "ghcr.io/gitopsd/gitopsd:v9.8.7-test"

func testOptions() Options {
	opts := DefaultOptions()
	opts.Module = filepath.Join("..", "..")
	opts.Version, opts.Commit = "v9.8.7-test", "0123456789abcdef0123456789abcdef01234567"
	opts.Created = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return opts
}

// built is the image TestMain builds as make image does; compiling gitopsd
// is setup, not counted against the test timeout.
var built v1.Image

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	img, err := Build(ctx, testOptions())
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built = img
	os.Exit(m.Run())
}

// TestTarball writes the image as make image does, reads the tarball back
// as docker load would, and runs the binary found in it.
func TestTarball(t *testing.T) {
	opts := testOptions()
	path := filepath.Join(t.TempDir(), "gitopsd-image.tar")
	if err := WriteTarball(path, testTag, built); err != nil {
		t.Fatal(err)
	}

	if tags := repoTags(t, path); !reflect.DeepEqual(tags, []string{testTag}) {
		t.Errorf("manifest.json RepoTags = %q, want [%s] (docker load and kind load tag the image with it)", tags, testTag)
	}
	tag, err := name.NewTag(testTag)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("read the tarball back: %v", err)
	}
	checkConfig(t, loaded, opts)
	files := extract(t, loaded)
	checkFiles(t, files)

	bin := filepath.Join(t.TempDir(), "gitopsd")
	if err := os.WriteFile(bin, files[BinaryPath].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("gitopsd version from the image: %v\n%s", err, out)
	}
	if want := "gitopsd v9.8.7-test (commit " + opts.Commit + ","; !strings.HasPrefix(string(out), want) {
		t.Errorf("gitopsd version = %q, want it to start with %q", out, want)
	}
	checkBuildSettings(t, bin)
}

// TestCranePush pushes the tarball to a registry as crane push does (it
// reads the tarball and writes it with package remote)
// (README, "Run it in your cluster") and pulls the same image back.
func TestCranePush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gitopsd-image.tar")
	if err := WriteTarball(path, testTag, built); err != nil {
		t.Fatal(err)
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/gitopsd:v1"

	dst, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatalf("crane push reads %s: %v", path, err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatalf("crane push %s: %v", ref, err)
	}
	pulled, err := remote.Image(dst)
	if err != nil {
		t.Fatal(err)
	}
	want, err := built.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pulled.Digest(); err != nil || got != want {
		t.Errorf("pulled %s back (%v), pushed %s", got, err, want)
	}
	checkConfig(t, pulled, testOptions())
}

func repoTags(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no manifest.json in %s: %v", path, err)
		}
		if hdr.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatalf("manifest.json: %v", err)
		}
		if len(m) != 1 {
			t.Fatalf("manifest.json lists %d images, want 1", len(m))
		}
		return m[0].RepoTags
	}
}

func checkConfig(t *testing.T, img v1.Image, opts Options) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != opts.Arch {
		t.Errorf("platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, opts.Arch)
	}
	if !cf.Created.Time.Equal(opts.Created) {
		t.Errorf("created = %s, want %s", cf.Created.Time, opts.Created)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532", c.User)
	}
	if !reflect.DeepEqual(c.Entrypoint, []string{"/usr/local/bin/gitopsd"}) || !reflect.DeepEqual(c.Cmd, []string{"run"}) {
		t.Errorf("entrypoint %q cmd %q, want [/usr/local/bin/gitopsd] [run]", c.Entrypoint, c.Cmd)
	}
	if !reflect.DeepEqual(c.Env, []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"}) {
		t.Errorf("env = %q", c.Env)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  opts.Version,
		"org.opencontainers.image.revision": opts.Commit,
		"org.opencontainers.image.source":   "https://github.com/gitopsd/gitopsd",
	} {
		if got := c.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if n := len(cf.RootFS.DiffIDs); n != 2 {
		t.Errorf("%d layers, want 2 (base files, binary)", n)
	}
}

// entry is a file of the flattened image.
type entry struct {
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

func extract(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimSuffix(hdr.Name, "/")
		files[p] = entry{mode: hdr.Mode, uid: hdr.Uid, gid: hdr.Gid, dir: hdr.Typeflag == tar.TypeDir, data: data}
	}
}

func checkFiles(t *testing.T, files map[string]entry) {
	t.Helper()
	if bin := files[BinaryPath]; len(bin.data) == 0 || bin.mode != 0o755 {
		t.Errorf("%s: %d bytes, mode %o; want the binary, 755", BinaryPath, len(bin.data), bin.mode)
	}
	if n := countCerts(t, files[CABundlePath].data); n < 100 {
		t.Errorf("%s holds %d certificates, want Mozilla's roots (over 100)", CABundlePath, n)
	}
	if passwd := string(files["/etc/passwd"].data); !strings.Contains(passwd, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", passwd)
	}
	if tmp := files["/tmp"]; !tmp.dir || tmp.mode != 0o1777 {
		t.Errorf("/tmp: dir %v mode %o, want a directory 1777", tmp.dir, tmp.mode)
	}
	if home := files[HomeDir]; !home.dir || home.uid != UID || home.gid != GID {
		t.Errorf("%s: dir %v owner %d:%d, want a directory of 65532:65532", HomeDir, home.dir, home.uid, home.gid)
	}
}

func countCerts(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return n
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("certificate %d of %s: %v", n, CABundlePath, err)
		}
		n++
	}
}

// checkBuildSettings reads how the binary was built from the build
// information Go writes into it.
func checkBuildSettings(t *testing.T, bin string) {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": runtime.GOARCH, "-trimpath": "true", "-tags": "timetzdata," + BuildTags} {
		if settings[k] != want {
			t.Errorf("binary built with %s=%q, want %q", k, settings[k], want)
		}
	}
}

// TestReproducible: the same binary and options make the same digest, so
// a rebuilt commit is recognised as the same image.
func TestReproducible(t *testing.T) {
	opts := testOptions()
	bin := []byte("not really a binary")
	digest := func(opts Options) v1.Hash {
		t.Helper()
		img, err := New(bin, opts)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first, second := digest(opts), digest(opts)
	if first != second {
		t.Errorf("two builds of one input: %s and %s", first, second)
	}
	opts.Created = opts.Created.Add(time.Second)
	if digest(opts) == first {
		t.Error("another creation time made the same digest")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Arch = "x86" }, `Arch "x86"`},
		{func(o *Options) { o.Version = "" }, "Version is empty"},
		{func(o *Options) { o.Version = "1.0 beta" }, `Version "1.0 beta" holds a space`},
		{func(o *Options) { o.Commit = `a"b` }, `Commit "a\"b" holds a space or a quote`},
		{func(o *Options) { o.Created = time.Time{} }, "Created is zero"},
	} {
		opts := DefaultOptions()
		tc.change(&opts)
		if err := opts.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("DefaultOptions().Validate() = %v", err)
	}
}

func TestWriteTarballNeedsATag(t *testing.T) {
	img, err := New([]byte("x"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for tag, ok := range map[string]bool{
		"gitopsd:dev":                  true, // as kind loads it
		"localhost:5000/gitopsd:v1":    true,
		"gitopsd":                      false,
		"localhost:5000/gitopsd":       false,
		"ghcr.io/gitopsd/gitopsd:a b":  false,
		"ghcr.io/gitopsd/gitopsd@sha1": false,
	} {
		err := WriteTarball(filepath.Join(t.TempDir(), "image.tar"), tag, img)
		if ok && err != nil {
			t.Errorf("WriteTarball(%q) = %v", tag, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "(want REPOSITORY:TAG)")) {
			t.Errorf("WriteTarball(%q) = %v, want an error asking for REPOSITORY:TAG", tag, err)
		}
	}
}

// TestRootFSMatchesImage: the directory the Dockerfile copies holds the
// files of the image, with the same modes.
func TestRootFSMatchesImage(t *testing.T) {
	bin := []byte("binary")
	img, err := New(bin, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := extract(t, img)
	dir := t.TempDir()
	if err := WriteRootFS(dir, bin); err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		got["/"+filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("root file system has %d entries, the image %d", len(got), len(want))
	}
	for p, e := range want {
		mode, ok := got[p]
		if !ok {
			t.Errorf("%s is in the image, not in the root file system", p)
			continue
		}
		if tarMode(mode) != e.mode || mode.IsDir() != e.dir {
			t.Errorf("%s: mode %s in the root file system, %o in the image", p, mode, e.mode)
		}
	}
}
