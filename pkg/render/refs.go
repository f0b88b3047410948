package render

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// checkRefs walks the kustomizations reachable from dir and refuses remote
// resources and Helm charts unless opts allow them: kustomize would fetch
// those over the network, outside the commit being rendered.
func checkRefs(t *tree, dir string, opts Options) error {
	return checkKustomization(t, dir, opts, map[string]bool{})
}

func checkKustomization(t *tree, dir string, opts Options, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	file, ok := kustomizationFile(t, dir)
	if !ok {
		return nil
	}
	data, err := t.ReadFile(file)
	if err != nil {
		return err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil // kustomize reports the syntax error with more context
	}
	k.FixKustomization()
	rel := strings.TrimPrefix(file, "/")
	if !opts.AllowHelm && (len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0) {
		return &Error{Path: rel, Err: fmt.Errorf("helmCharts are not enabled; render the chart into the repository, or start gitopsd with --enable-helm")}
	}
	refs := append(append(append(append([]string{}, k.Resources...), k.Components...), k.Generators...), k.Transformers...)
	for _, ref := range refs {
		local := path.Join(dir, ref)
		if !t.Exists(local) && isRemote(ref) {
			if opts.AllowRemote {
				continue
			}
			return &Error{Path: rel, Err: fmt.Errorf("remote resource %q is not allowed; vendor it into the repository, or start gitopsd with --allow-remote-bases", ref)}
		}
		if t.IsDir(local) {
			if err := checkKustomization(t, local, opts, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// isRemote reports whether a kustomization entry that is not a local path
// names something kustomize would fetch: a URL, an scp-like Git address, or
// a host-qualified repository such as github.com/org/repo.
func isRemote(ref string) bool {
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "git@") {
		return true
	}
	first, rest, found := strings.Cut(ref, "/")
	return found && rest != "" && strings.Contains(first, ".") && first != "." && first != ".."
}

// kustomizationFile returns the kustomization file in dir, if any.
func kustomizationFile(t *tree, dir string) (string, bool) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if p := path.Join(dir, name); t.Exists(p) && !t.IsDir(p) {
			return p, true
		}
	}
	return "", false
}
