package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KubernetesVersion is the version of the control-plane binaries.
const KubernetesVersion = "v1.37.2"

// binaries are the executables a Full plane runs; API needs the first two.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"}

// kwokStages is the kwok --config file that `make tools` writes next to kwok.
const kwokStages = "kwok-stages.yaml"

// BinDir is where `make tools` puts the control-plane binaries:
// $GITOPSD_BIN_DIR, or <user cache>/gitopsd/bin/<KubernetesVersion>.
func BinDir() string {
	if dir := os.Getenv("GITOPSD_BIN_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(CacheDir(), "bin", KubernetesVersion)
}

// CacheDir is gitopsd's cache directory: ${XDG_CACHE_HOME:-$HOME/.cache}/gitopsd.
func CacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "gitopsd")
}

// checkBinaries reports every missing file of names in dir, with the command
// that builds them.
func checkBinaries(dir string, names ...string) error {
	var missing []string
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("control-plane binaries missing from %s: %s; run 'make tools' to build them (about 15 minutes the first time)",
		dir, strings.Join(missing, ", "))
}
