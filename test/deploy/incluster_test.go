package deploy

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
)

// serviceAccountDir is where client-go's in-cluster configuration reads
// the Pod's token, the cluster's CA and the namespace, under /var/run.
const serviceAccountDir = "secrets/kubernetes.io/serviceaccount"

// inPodScript mounts $1 over /var/run with the mount binary $0, then runs
// the rest of its arguments in its place.
const inPodScript = `"$0" --bind "$1" /var/run && shift && exec "$@"`

// startInPod runs pod's replica as its container runs: no kubeconfig, the
// ServiceAccount's token (bound to the Pod, as the kubelet projects it)
// with the cluster's CA and the namespace where client-go looks in a Pod,
// and KUBERNETES_SERVICE_HOST and _PORT naming the API server. That path
// is fixed, so the replica runs in a mount namespace of its own (unshare)
// with a directory of the test mounted over /var/run.
func startInPod(t *testing.T, pod *corev1.Pod) *replica {
	t.Helper()
	run := t.TempDir()
	sa := filepath.Join(run, serviceAccountDir)
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	token := podToken(t, pod, &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID})
	for name, data := range map[string][]byte{"token": []byte(token), "ca.crt": env.Config.CAData, "namespace": []byte(pod.Namespace)} {
		if err := os.WriteFile(filepath.Join(sa, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	api, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	unshare, sh, mount := mountNamespaceTools(t)
	return start(t, pod, func(r *replica) *exec.Cmd {
		cmd := exec.Command(unshare, append([]string{"--mount", "--map-root-user", sh, "-c", inPodScript, mount, run, gitopsd}, r.args()...)...)
		cmd.Env = append(r.env(), "KUBERNETES_SERVICE_HOST="+api.Hostname(), "KUBERNETES_SERVICE_PORT="+api.Port())
		return cmd
	})
}

var (
	toolsOnce sync.Once
	toolsErr  error
	toolPaths [3]string
)

// mountNamespaceTools finds unshare, sh and mount, and checks once that
// a process may mount a directory over /var/run in a mount namespace of its
// own.
func mountNamespaceTools(t *testing.T) (unshare, sh, mount string) {
	t.Helper()
	toolsOnce.Do(func() {
		for i, name := range []string{"unshare", "sh", "mount"} {
			if toolPaths[i], toolsErr = exec.LookPath(name); toolsErr != nil {
				return
			}
		}
		out, err := exec.Command(toolPaths[0], "--mount", "--map-root-user", toolPaths[1], "-c", inPodScript, toolPaths[2], t.TempDir(), "true").CombinedOutput()
		if err != nil {
			toolsErr = fmt.Errorf("unshare --mount --map-root-user: %w: %s", err, out)
		}
	})
	if toolsErr != nil {
		t.Fatalf("a replica runs as in its Pod in a mount namespace of its own, where the ServiceAccount token is mounted at /var/run/%s: %v\n"+
			"install util-linux (unshare, mount) and allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0)", serviceAccountDir, toolsErr)
	}
	return toolPaths[0], toolPaths[1], toolPaths[2]
}
