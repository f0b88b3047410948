package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	var dep appsv1.Deployment
	var config corev1.ConfigMap
	m := renderDeploy(t, "")
	m.decode(t, "Deployment", &dep)
	m.decode(t, "ConfigMap", &config)
	if dep.Spec.Template.Spec.TerminationGracePeriodSeconds == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deploy/ has no Deployment with one container and terminationGracePeriodSeconds: %+v", dep.Spec.Template.Spec)
	}
	grace := time.Duration(*dep.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second

	def := shutdownGraceDefault(t)
	set, where := def, "the flag's default"
	if v, ok := config.Data["GITOPSD_SHUTDOWN_GRACE"]; ok {
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

// TestProductionManifests reads deploy/ with its network-policy component
// as kubectl apply -k renders them: the PodDisruptionBudget keeps a replica
// of the Deployment through a drain, the scrape annotations and the probes
// name the port gitopsd listens on, the container has resources and a Go
// memory limit under its own, and the NetworkPolicy lets that port in.
func TestProductionManifests(t *testing.T) {
	var (
		dep    appsv1.Deployment
		pdb    policyv1.PodDisruptionBudget
		policy networkingv1.NetworkPolicy
	)
	m := renderDeploy(t, "network-policy")
	m.decode(t, "Deployment", &dep)
	m.decode(t, "PodDisruptionBudget", &pdb)
	m.decode(t, "NetworkPolicy", &policy)
	pod := dep.Spec.Template
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.Containers[0].Ports) != 1 {
		t.Fatalf("want one container with one port: %+v", pod.Spec.Containers)
	}
	c := pod.Spec.Containers[0]
	port := c.Ports[0]

	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2: a leader and a standby", dep.Spec.Replicas)
	}
	selects := func(what string, sel *metav1.LabelSelector) {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || sel == nil || len(sel.MatchLabels) == 0 || !s.Matches(labels.Set(pod.Labels)) {
			t.Errorf("%s selects %v, not the Pods (labels %v): %v", what, sel, pod.Labels, err)
		}
	}
	selects("the PodDisruptionBudget", pdb.Spec.Selector)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget minAvailable %v, want 1 of the 2 replicas", pdb.Spec.MinAvailable)
	}

	listen := ""
	for _, arg := range c.Args {
		if v, ok := strings.CutPrefix(arg, "--http-addr="); ok {
			listen = v
		}
	}
	if listen != fmt.Sprintf(":%d", port.ContainerPort) {
		t.Errorf("gitopsd listens on %q, the container port is %d", listen, port.ContainerPort)
	}
	for k, want := range map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(port.ContainerPort), "prometheus.io/path": "/metrics"} {
		if got := pod.Annotations[k]; got != want {
			t.Errorf("Pod annotation %s = %q, want %q", k, got, want)
		}
	}
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != port.Name {
			t.Errorf("%s probe %+v, want GET %s on port %s", p.what, p.probe, p.path, port.Name)
		}
	}

	limit := c.Resources.Limits.Memory()
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || limit.IsZero() {
		t.Errorf("resources %+v, want CPU and memory requested and memory limited", c.Resources)
	}
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		goLimit, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B"))
		if err != nil || goLimit.Cmp(*limit) >= 0 {
			t.Errorf("GOMEMLIMIT %s (%v) is not under the memory limit %s", e.Value, err, limit)
		}
	}

	selects("the NetworkPolicy", &policy.Spec.PodSelector)
	in := false
	for _, rule := range policy.Spec.Ingress {
		for _, p := range rule.Ports {
			in = in || (p.Port != nil && p.Port.String() == port.Name && len(rule.From) == 0)
		}
	}
	if !in {
		t.Errorf("the NetworkPolicy does not let webhooks, probes and scrapes in on port %s: %+v", port.Name, policy.Spec.Ingress)
	}
}

// rendered is deploy/ rendered: the objects' YAML by kind.
type rendered map[string][][]byte

// renderDeploy builds deploy/, with component unless it is empty, as
// kubectl apply -k does.
func renderDeploy(t *testing.T, component string) rendered {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if component != "" {
		overlay := t.TempDir()
		rel, err := filepath.Rel(overlay, dir)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("resources: [%[1]s]\ncomponents: [%[1]s/components/%[2]s]\n", filepath.ToSlash(rel), component)
		if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
		dir = overlay
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build deploy/ (component %q): %v", component, err)
	}
	m := rendered{}
	for _, r := range resources.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		m[r.GetKind()] = append(m[r.GetKind()], data)
	}
	return m
}

// decode decodes the one object of kind into obj.
func (m rendered) decode(t *testing.T, kind string, obj any) {
	t.Helper()
	if len(m[kind]) != 1 {
		t.Fatalf("deploy/ has %d objects of kind %s, want 1", len(m[kind]), kind)
	}
	if err := yaml.UnmarshalStrict(m[kind][0], obj); err != nil {
		t.Fatalf("%s of deploy/: %v", kind, err)
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
