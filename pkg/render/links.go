package render

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// maxLinkHops bounds symlink chains, as the kernel does.
const maxLinkHops = 40

// errLinkLoop is returned for a path with too many symlinks in a row.
var errLinkLoop = errors.New("too many levels of symbolic links")

// escapeError is a symlink whose target leaves the repository.
type escapeError struct{ link, target string }

func (e *escapeError) Error() string {
	return fmt.Sprintf("symlink %s points to %s, outside the repository", e.link, e.target)
}

// resolve returns the path name (slash-separated, relative to the root of
// repo) leads to with every symlink in it followed, as the kernel follows
// them (filepath.EvalSymlinks), but inside repo only: a link that leaves
// it is an *escapeError. Only the links on name's way are read, so a
// broken link or a loop elsewhere in the repository does not matter.
func resolve(repo fs.FS, name string) (string, error) {
	done, todo, hops := ".", strings.Split(path.Clean(name), "/"), 0
	var link, target string // the last link followed
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case ".", "":
			continue
		case "..":
			if done == "." {
				return "", &escapeError{link: cmp.Or(link, name), target: cmp.Or(target, name)}
			}
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, elem)
		info, err := fs.Lstat(repo, next)
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", fmt.Errorf("%s: %w", next, errLinkLoop)
		}
		link = next
		if target, err = fs.ReadLink(repo, next); err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return "", &escapeError{link: link, target: target}
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return done, nil
}
