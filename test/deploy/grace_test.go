package deploy

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// afterGrace is what a replica does after --shutdown-grace: record the
// last apply, release the Lease and drain HTTP (at most 5 s).
const afterGrace = 10 * time.Second

// TestTerminationGraceAboveShutdownGrace renders deploy/ as kubectl apply
// -k does: the Pods' terminationGracePeriodSeconds leaves an apply under
// way its --shutdown-grace and the Lease's release after it, for the value
// deploy/ sets and for the flag's default, which a user who drops the
// argument gets.
func TestTerminationGraceAboveShutdownGrace(t *testing.T) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../deploy")
	if err != nil {
		t.Fatalf("kustomize build deploy/: %v", err)
	}
	var dep appsv1.Deployment
	var config map[string]string
	for _, r := range resources.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		switch r.GetKind() {
		case "Deployment":
			err = yaml.Unmarshal(data, &dep)
		case "ConfigMap":
			var cm corev1.ConfigMap
			err = yaml.Unmarshal(data, &cm)
			config = cm.Data
		}
		if err != nil {
			t.Fatalf("%s %s: %v", r.GetKind(), r.GetName(), err)
		}
	}
	if dep.Spec.Template.Spec.TerminationGracePeriodSeconds == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deploy/ has no Deployment with one container and terminationGracePeriodSeconds: %+v", dep.Spec.Template.Spec)
	}
	grace := time.Duration(*dep.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second

	def := shutdownGraceDefault(t)
	set, where := def, "the flag's default"
	if v, ok := config["GITOPSD_SHUTDOWN_GRACE"]; ok {
		set, where = parseDuration(t, v), "ConfigMap gitopsd-config"
	}
	for _, arg := range dep.Spec.Template.Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(arg, "--shutdown-grace="); ok {
			set, where = parseDuration(t, v), "the container's arguments"
		}
	}
	for _, c := range []struct {
		what  string
		value time.Duration
	}{{"--shutdown-grace from " + where, set}, {"--shutdown-grace's default", def}} {
		if grace < c.value+afterGrace {
			t.Errorf("terminationGracePeriodSeconds %s is not above %s (%s) plus %s: the kubelet would kill an apply under way", grace, c.what, c.value, afterGrace)
		}
	}
}

// shutdownGraceDefault reads the default of --shutdown-grace from gitopsd
// run -h.
func shutdownGraceDefault(t *testing.T) time.Duration {
	t.Helper()
	out, _ := exec.Command(gitopsd, "run", "-h").CombinedOutput()
	m := regexp.MustCompile(`-shutdown-grace duration\n[^\n]*\(default ([^)]+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("gitopsd run -h shows no default of --shutdown-grace:\n%s", out)
	}
	return parseDuration(t, string(m[1]))
}

func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("--shutdown-grace %q: %v", s, err)
	}
	return d
}
