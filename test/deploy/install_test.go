package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// systemNamespace is where deploy/ installs gitopsd.
const systemNamespace = "gitopsd-system"

// readme is the project's README, whose "Run it in your cluster" the
// tests follow.
const readme = "../../README.md"

// overlay is the kustomization README's step 3 writes next to deploy/,
// with this test's image, repository and optional component: the image
// pushed as registry.example.com/gitopsd:VERSION, the repository at repo,
// polled once an hour so that what the tests see after the first poll
// came by webhook. base is deploy/ relative to the overlay.
func overlay(t *testing.T, base, repo, component string) string {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, s, ok := strings.Cut(string(data), "cat > kustomization.yaml <<'EOF'")
	if ok {
		_, s, _ = strings.Cut(s, "\n")
		s, _, ok = strings.Cut(s, "\nEOF\n")
	}
	if !ok {
		t.Fatal("README has no step 3 writing kustomization.yaml (cat > kustomization.yaml <<'EOF' ... EOF)")
	}
	for _, r := range []struct{ old, new string }{
		{"resources: [../deploy]", "resources: [" + base + "]"},
		{"newName: registry.example.com/gitopsd, newTag: v1}", "newName: registry.example.com/gitopsd, newTag: " + version + "}"},
		{"      - GITOPSD_REPO=https://github.com/you/fleet.git\n", "      - GITOPSD_REPO=" + repo + "\n      - GITOPSD_INTERVAL=1h\n"},
	} {
		if strings.Count(s, r.old) != 1 {
			t.Fatalf("README's step 3 no longer holds %q once; the test sets it:\n%s", r.old, s)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	return s + "\ncomponents: [" + base + "/components/" + component + "]\n"
}

// webhookSecret is the secret the overlay gives the webhook.
const webhookSecret = "s3cret-for-the-deploy-test"

// applyDeploy runs kubectl apply -k on an overlay of deploy/ with
// component and waits until the Deployment's two Pods of that version run
// on the fake nodes.
func applyDeploy(t *testing.T, repo, component string) []corev1.Pod {
	t.Helper()
	dir := t.TempDir()
	deploy, err := filepath.Abs(filepath.Join("..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	// kustomize takes bases by relative path only.
	rel, err := filepath.Rel(dir, deploy)
	if err != nil {
		t.Fatal(err)
	}
	kustomization := overlay(t, filepath.ToSlash(rel), repo, component)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	for file, content := range map[string]string{"git-token": gitToken, "webhook-secret": webhookSecret} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	out, err := exec.Command(kubectl, "--kubeconfig", env.Kubeconfig, "apply", "-k", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply -k deploy/ (through an overlay): %v\n%s", err, out)
	}
	t.Logf("kubectl apply -k:\n%s", out)

	var pods []corev1.Pod
	eventually(t, 2*time.Minute, "the Deployment's two Pods to be Ready", func(ctx context.Context) error {
		d, err := env.Client.AppsV1().Deployments(systemNamespace).Get(ctx, "gitopsd", metav1.GetOptions{})
		if err != nil {
			return err
		}
		list, err := env.Client.CoreV1().Pods(systemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=gitopsd"})
		if err != nil {
			return err
		}
		// A Pod of this version names the ConfigMap just generated.
		want := d.Spec.Template.Spec.Containers[0].EnvFrom
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && podReady(&p) && reflect.DeepEqual(p.Spec.Containers[0].EnvFrom, want) {
				pods = append(pods, p)
			}
		}
		if len(pods) != 2 || len(list.Items) != 2 {
			return fmt.Errorf("%d of %d Pods Ready at this version", len(pods), len(list.Items))
		}
		return nil
	})
	return pods
}

// readmeCheck runs README's step 5 as written and finds each of want in
// what it prints.
func readmeCheck(t *testing.T, want ...string) {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, s, ok := strings.Cut(string(data), "# 5. Check")
	_, s, _ = strings.Cut(s, "\n")
	line, _, _ := strings.Cut(s, "\n")
	if !ok || !strings.HasPrefix(line, "kubectl ") {
		t.Fatalf("README has no step 5 of kubectl commands: %q", line)
	}
	var out []byte
	for _, cmd := range strings.Split(line, " && ") {
		args := strings.Fields(cmd)
		if args[0] != "kubectl" {
			t.Fatalf("README's step 5 runs %q, not kubectl", cmd)
		}
		b, err := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig}, args[1:]...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("README's step 5: %s: %v\n%s", cmd, err, b)
		}
		out = append(out, b...)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("README's step 5 does not show %q:\n%s", w, out)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// serviceAccountKubeconfig mints a token of the gitopsd ServiceAccount
// bound to pod, as the kubelet does for the Pod's projected token, and
// writes a kubeconfig holding that token and nothing else.
func serviceAccountKubeconfig(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	return tokenKubeconfig(t, pod, &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID})
}

// tokenKubeconfig mints a token of pod's ServiceAccount, bound to bound
// when it is set, and writes a kubeconfig holding it and nothing else.
func tokenKubeconfig(t *testing.T, pod *corev1.Pod, bound *authenticationv1.BoundObjectReference) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos["gitopsd"] = &clientcmdapi.AuthInfo{Token: podToken(t, pod, bound)}
	kc.Contexts["gitopsd"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "gitopsd"}
	kc.CurrentContext = "gitopsd"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// podToken mints a token of pod's ServiceAccount (TokenRequest), bound to
// bound when it is set.
func podToken(t *testing.T, pod *corev1.Pod, bound *authenticationv1.BoundObjectReference) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expiry := int64(3600)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry, BoundObjectRef: bound}}
	tok, err := env.Client.CoreV1().ServiceAccounts(systemNamespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for ServiceAccount %s/%s: %v", systemNamespace, pod.Spec.ServiceAccountName, err)
	}
	return tok.Status.Token
}

// eventually polls check until it returns nil, failing the test with its
// last error after timeout, or at once when a replica exited.
func eventually(t *testing.T, timeout time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	for {
		if err = check(ctx); err == nil {
			return
		}
		if errors.Is(err, errExited) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		case <-time.After(200 * time.Millisecond): // polling interval, not synchronisation
		}
	}
}
