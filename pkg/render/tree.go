package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// maxLinkHops bounds symlink chains, as the kernel does.
const maxLinkHops = 40

// tree is a repository copied into memory for kustomize. Symlinks inside the
// repository are copied as what they point to; those that leave it are kept
// aside so that reading one is an error naming the link.
type tree struct {
	filesys.FileSystem
	escapes map[string]string // path in the tree → link target
}

// loadTree copies repo into an in-memory file system rooted at "/".
func loadTree(repo fs.FS) (*tree, error) {
	t := &tree{FileSystem: filesys.MakeFsInMemory(), escapes: map[string]string{}}
	if err := t.copyDir(repo, ".", "/", nil); err != nil {
		return nil, err
	}
	return t, nil
}

// copyDir copies the directory src of repo to dst. chain holds the real
// directories being copied, from the root down, to stop symlink loops.
func (t *tree) copyDir(repo fs.FS, src, dst string, chain []string) error {
	if err := t.MkdirAll(dst); err != nil {
		return err
	}
	entries, err := fs.ReadDir(repo, src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	chain = append(chain, src)
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		from, to := path.Join(src, e.Name()), path.Join(dst, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := resolveLink(repo, from)
			var escape *escapeError
			if errors.As(err, &escape) {
				t.escapes[to] = escape.target
				continue
			}
			if err != nil {
				return &Error{Path: from, Err: err}
			}
			if isAncestor(target, chain) {
				return &Error{Path: from, Err: fmt.Errorf("symlink to %s makes a loop", target)}
			}
			from = target
		}
		info, err := fs.Stat(repo, from)
		if err != nil {
			return fmt.Errorf("stat %s: %w", from, err)
		}
		switch {
		case info.IsDir():
			if err := t.copyDir(repo, from, to, chain); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			data, err := fs.ReadFile(repo, from)
			if err != nil {
				return fmt.Errorf("read %s: %w", from, err)
			}
			if err := t.WriteFile(to, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// isAncestor reports whether dir is, or contains, one of chain.
func isAncestor(dir string, chain []string) bool {
	for _, c := range chain {
		if dir == "." || c == dir || strings.HasPrefix(c, dir+"/") {
			return true
		}
	}
	return false
}

type escapeError struct{ link, target string }

func (e *escapeError) Error() string {
	return fmt.Sprintf("symlink %s points to %s, outside the repository", e.link, e.target)
}

// resolveLink follows the symlink at p within repo and returns the path it
// ends at, or an *escapeError when it leaves the repository.
func resolveLink(repo fs.FS, p string) (string, error) {
	link := p
	for range maxLinkHops {
		info, err := fs.Lstat(repo, p)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		target, err := fs.ReadLink(repo, p)
		if err != nil {
			return "", err
		}
		next := path.Join(path.Dir(p), target)
		if path.IsAbs(target) || next == ".." || strings.HasPrefix(next, "../") {
			return "", &escapeError{link: link, target: target}
		}
		p = next
	}
	return "", fmt.Errorf("symlink %s: too many levels of symbolic links", link)
}

// escape returns the error for reading p when p is, or is under, a symlink
// that leaves the repository.
func (t *tree) escape(p string) error {
	for link, target := range t.escapes {
		if p == link || strings.HasPrefix(p, link+"/") {
			return &Error{Path: strings.TrimPrefix(link, "/"), Err: fmt.Errorf("symlink points to %s, outside the repository", target)}
		}
	}
	return nil
}

func (t *tree) ReadFile(p string) ([]byte, error) {
	if err := t.escape(p); err != nil {
		return nil, err
	}
	return t.FileSystem.ReadFile(p)
}

func (t *tree) Open(p string) (filesys.File, error) {
	if err := t.escape(p); err != nil {
		return nil, err
	}
	return t.FileSystem.Open(p)
}

// CleanedAbs is where kustomize's root-only restriction resolves a path.
func (t *tree) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if err := t.escape(p); err != nil {
		return "", "", err
	}
	return t.FileSystem.CleanedAbs(p)
}

// Exists is true for escaping links so that kustomize reads them, and fails
// with the escape, instead of taking the name for a remote URL.
func (t *tree) Exists(p string) bool {
	return t.escape(p) != nil || t.FileSystem.Exists(p)
}
