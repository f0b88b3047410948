package render

import (
	"errors"
	"fmt"
)

// Error is a render failure caused by the repository's content: a
// kustomization, a manifest or a symlink. Path names the file or directory.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsRenderError reports whether err is caused by the repository's content
// (retrying the same commit cannot help).
func IsRenderError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
