package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// virtualRoot is where a repository appears to kustomize when nothing of
// the build needs to be on disk. It names no real directory; error
// messages have it cut off, so that they name repository paths.
const virtualRoot = "/gitopsd-repository"

// build is one kustomize run over a repository: the file system kustomize
// reads, what it was served, and what it was refused.
type build struct {
	repo fs.FS
	root string // where the repository appears to kustomize
	opts Options
	file string // the kustomization file built
	// origins turns on origin annotations in file, so that each object
	// says which file it came from.
	origins bool
	// disk lists the absolute directories served from disk: kustomize's
	// clones of remote bases (with AllowRemote), and the chart homes copied
	// out of the repository for the helm binary (with AllowHelm).
	disk []string

	mu             sync.Mutex
	kustomizations map[string]string // resolved path → the path kustomize asked for
	read           []string          // repository paths of the files served, in order
	refused        error             // the first remote content or chart refused
	fetched        bool              // content came from the network
}

func newBuild(repo fs.FS, file string, opts Options) *build {
	b := &build{repo: repo, root: virtualRoot, opts: opts, file: file, kustomizations: map[string]string{}}
	if opts.AllowRemote {
		b.disk = append(b.disk, filepath.Join(tempDir(), "kustomize-"))
	}
	return b
}

// fs returns the file system kustomize reads.
func (b *build) fs() repoFS { return repoFS{b} }

// onDisk reports whether the absolute path p is in a directory the build
// made on disk.
func (b *build) onDisk(p string) bool {
	p = filepath.Clean(p) + string(filepath.Separator)
	for _, d := range b.disk {
		// Kustomize's clone directories share a prefix, not a parent.
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// lookedUp records that kustomize looked for a kustomization file at asked
// and found the file name, so that reading it is checked.
func (b *build) lookedUp(name, asked string) {
	rel, _ := b.fs().name(asked)
	b.mu.Lock()
	b.kustomizations[name] = rel
	b.mu.Unlock()
}

// served checks a file kustomize reads before handing it over: a
// kustomization must not make kustomize fetch what the options refuse.
func (b *build) served(name string, data []byte) ([]byte, error) {
	b.mu.Lock()
	b.read = append(b.read, name)
	kustomization, ok := b.kustomizations[name]
	b.mu.Unlock()
	if !ok {
		return data, nil
	}
	if err := b.check(kustomization, data); err != nil {
		return nil, err
	}
	if b.origins && kustomization == b.file {
		return withOrigins(data)
	}
	return data, nil
}

// check refuses a kustomization whose bases are remote or whose charts are
// not enabled. Bases are the entries kustomize may clone with git (those of
// resources, components, generators, transformers and validators); a remote
// file in any other field is fetched over HTTP, and refused there (see
// remote.go). The file is checked before kustomize acts on it, so that
// nothing is fetched.
func (b *build) check(file string, data []byte) error {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil // kustomize reports it, with more context
	}
	k.FixKustomization()
	dir := path.Dir(file)
	if len(k.HelmCharts) > 0 {
		if !b.opts.AllowHelm {
			return b.refuse(&Error{Path: file, Err: fmt.Errorf("helmCharts are not enabled; render the chart into the repository, or start gitopsd with --enable-helm")})
		}
		if err := b.chartHome(dir, k.HelmGlobals); err != nil {
			return err
		}
	}
	for _, list := range [][]string{k.Resources, k.Components, k.Generators, k.Transformers, k.Validators} {
		for _, entry := range list {
			if !isRemote(entry) || b.isFile(path.Join(dir, entry)) {
				continue
			}
			if b.opts.AllowRemote {
				b.setFetched()
				continue
			}
			return b.refuse(remoteError(file, entry))
		}
	}
	return nil
}

// refuse records err as the reason the build failed and returns it.
func (b *build) refuse(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refused == nil {
		b.refused = err
	}
	return b.refused
}

func (b *build) setFetched() {
	b.mu.Lock()
	b.fetched = true
	b.mu.Unlock()
}

// isFile reports whether name is a file of the repository, which
// kustomize reads before it tries a git URL.
func (b *build) isFile(name string) bool {
	resolved, err := resolve(b.repo, path.Clean(name))
	if err != nil {
		return false
	}
	info, err := fs.Stat(b.repo, resolved)
	return err == nil && info.Mode().IsRegular()
}

func remoteError(file, url string) error {
	return &Error{Path: file, Err: fmt.Errorf("remote resource %q is not allowed; vendor it into the repository, or start gitopsd with --allow-remote-bases", url)}
}

// request is called for each HTTP request kustomize makes during the build:
// it is refused, naming the file that asked for url, unless remote content
// is allowed.
func (b *build) request(url string) error {
	if b.opts.AllowRemote {
		b.setFetched()
		return nil
	}
	return b.refuse(remoteError(b.mentioning(url), url))
}

// mentioning returns the last file served that mentions s: kustomize asks
// for a remote file while it works on the kustomization that names it,
// after the bases it read before.
func (b *build) mentioning(s string) string {
	b.mu.Lock()
	read := slices.Clone(b.read)
	b.mu.Unlock()
	for _, name := range slices.Backward(read) {
		if data, err := fs.ReadFile(b.repo, name); err == nil && bytes.Contains(data, []byte(s)) {
			return name
		}
	}
	return b.file
}

// isRemote reports whether a kustomization entry is one kustomize would
// fetch: a URL, a Git address (user@host:path), or a github.com path. These
// are the forms kustomize's git URL parser accepts, with or without its
// git:: prefix.
func isRemote(entry string) bool {
	s := strings.ToLower(entry)
	s = strings.TrimPrefix(s, "git::")
	for _, scheme := range []string{"https://", "http://", "ssh://", "file://"} {
		if strings.HasPrefix(s, scheme) {
			return true
		}
	}
	return gitUser.MatchString(s) || strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "github.com:")
}

// gitUser is the user of an scp-like Git address, as kustomize reads it.
var gitUser = regexp.MustCompile(`^[a-z][a-z0-9-]*@`)

// withOrigins turns on kustomize's origin annotations in a kustomization.
func withOrigins(data []byte) ([]byte, error) {
	node, err := kyaml.Parse(string(data))
	if err != nil {
		return data, nil // kustomize reports it
	}
	meta, err := node.Pipe(kyaml.LookupCreate(kyaml.SequenceNode, "buildMetadata"))
	if err != nil {
		return nil, err
	}
	if err := meta.PipeE(kyaml.Append(kyaml.NewScalarRNode(types.OriginAnnotations).YNode())); err != nil {
		return nil, err
	}
	out, err := node.String()
	return []byte(out), err
}

// chartHome copies the chart home of the kustomization in dir out of the
// repository onto disk, where the helm binary reads charts and pulls those
// that are missing.
func (b *build) chartHome(dir string, globals *types.HelmGlobals) error {
	home := types.HelmDefaultHome
	if globals != nil && globals.ChartHome != "" {
		home = globals.ChartHome
	}
	name := path.Join(dir, home)
	dst := filepath.Join(b.root, filepath.FromSlash(name))
	if b.onDisk(dst) {
		return nil
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if resolved, err := resolve(b.repo, name); err == nil {
		if err := copyDir(b.repo, resolved, dst, 0); err != nil {
			return &Error{Path: name, Err: err}
		}
	}
	b.disk = append(b.disk, dst+string(filepath.Separator))
	return nil
}

// copyDir copies the directory name of repo to dst on disk, following
// symlinks inside the repository.
func copyDir(repo fs.FS, name, dst string, depth int) error {
	if depth > maxLinkHops {
		return fmt.Errorf("%s: %w", name, errLinkLoop)
	}
	entries, err := fs.ReadDir(repo, name)
	if err != nil {
		return err
	}
	for _, e := range entries {
		src, to := path.Join(name, e.Name()), filepath.Join(dst, e.Name())
		resolved, err := resolve(repo, src)
		if err != nil {
			return err
		}
		info, err := fs.Stat(repo, resolved)
		if err != nil {
			return err
		}
		if info.IsDir() {
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			if err := copyDir(repo, resolved, to, depth+1); err != nil {
				return err
			}
			continue
		}
		data, err := fs.ReadFile(repo, resolved)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
