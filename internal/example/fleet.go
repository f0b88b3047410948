package example

import (
	"fmt"
	"os"
	"path/filepath"
)

// SelfPath is the path of gitopsd's own installation in the fleet, and
// BasePath where deploy/ goes.
const (
	SelfPath = "platform/gitopsd"
	BasePath = SelfPath + "/base"
)

// Fleet copies examples/repo of the gitopsd source tree at root into dst,
// which must not exist, with root's deploy/ at BasePath.
func Fleet(root, dst string) error {
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(root, "examples", "repo"))); err != nil {
		return fmt.Errorf("copy examples/repo: %w", err)
	}
	return Deploy(root, dst)
}

// Deploy copies root's deploy/ to BasePath of the fleet at dst.
func Deploy(root, dst string) error {
	if err := os.CopyFS(filepath.Join(dst, BasePath), os.DirFS(filepath.Join(root, "deploy"))); err != nil {
		return fmt.Errorf("copy deploy/ into the example fleet: %w", err)
	}
	return nil
}
