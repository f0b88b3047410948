package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/example"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const selfImage = "registry.example.com/gitopsd"

// TestGitopsdUpgradesItselfFromGit installs gitopsd as examples/repo's
// gitopsd installation says (its kustomization, deploy/ as its base,
// kubectl apply -k, the Secret out of Git) and runs a process per Pod as a
// kubelet would. gitopsd takes its own installation over from Git without
// restarting; an image tag changed in Git rolls its Deployment, the Lease
// moves to a Pod of the new image, and a later commit is applied. Taken
// out of gitopsd.yaml, the installation leaves gitopsd's namespace,
// inventories and Lease, and gitopsd itself, in place, saying why, and
// reconciling goes on.
func TestGitopsdUpgradesItselfFromGit(t *testing.T) {
	freshInstall(t)
	gitHost, _, head := serveFleetWith(t, "self", func(work, url string) { selfInstallation(t, work, url) })
	createSecret(t)
	kubectl(t, "apply", "-k", filepath.Join(gitHost.repo.Work, example.SelfPath))
	installed := deployment(t).Generation
	k := newKubelet(t)

	var leader *replica
	eventually(t, 3*time.Minute, "gitopsd to apply its own installation at "+head[:12], func(ctx context.Context) error {
		var err error
		if leader, err = k.leader(ctx); err != nil {
			return err
		}
		return appliedAt(leader, head)
	})
	if got := deployment(t).Generation; got != installed {
		t.Errorf("taking its installation over from Git changed gitopsd's Deployment (generation %d, was %d): its Pods restarted", got, installed)
	}
	lease := leaseHeldBy(t, leader)
	var before []string
	for _, r := range k.replicas() {
		before = append(before, r.pod.Name)
	}

	// The image tag changes in Git.
	head = gitHost.commit(t, "gitopsd v2", map[string]string{example.SelfPath + "/kustomization.yaml": selfKustomization(t, gitHost, "v1", "v2")})
	start := time.Now()
	eventually(t, 3*time.Minute, "the rollout to v2, the Lease on a v2 Pod, and "+head[:12]+" applied", func(ctx context.Context) error {
		var err error
		if leader, err = k.leader(ctx); err != nil {
			return err
		}
		if err := rolledOut(k, selfImage+":v2", before); err != nil {
			return err
		}
		if holder := leaseHolder(ctx, lease); !strings.HasPrefix(holder, leader.pod.Name+"_") {
			return fmt.Errorf("Lease %s is held by %q, not the leader %s", lease, holder, leader.pod.Name)
		}
		return appliedAt(leader, head)
	})
	t.Logf("gitopsd rolled itself to v2 and leads from %s after %s", leader.pod.Name, time.Since(start).Round(time.Millisecond))

	// Reconciling carries on under the new leader.
	head = gitHost.commit(t, "release 2", map[string]string{"app/app.yaml": appRelease("2")})
	eventually(t, time.Minute, "the new leader to apply "+head[:12], func(ctx context.Context) error {
		if leader, err := k.leader(ctx); err != nil {
			return err
		} else if err := appliedAt(leader, head); err != nil {
			return err
		}
		return released(ctx, "2")
	})

	// gitopsd's installation leaves gitopsd.yaml: it is forgotten, and
	// nothing gitopsd runs on is pruned.
	head = gitHost.commit(t, "gitopsd no longer manages itself", map[string]string{"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n"})
	store := inventory.NewStore(env.Client, systemNamespace)
	var removed string
	eventually(t, time.Minute, "the installation's removal", func(ctx context.Context) error {
		var err error
		if leader, err = k.leader(ctx); err != nil {
			return err
		}
		if err := appliedAt(leader, head); err != nil {
			return err
		}
		if names, err := store.List(ctx); err != nil || slices.Contains(names, "gitopsd") || !slices.Contains(names, "app") {
			return fmt.Errorf("inventories %v (%v), want app's and not gitopsd's", names, err)
		}
		removed, err = eventMessage(ctx, "Removed", inventory.Name("gitopsd"))
		return err
	})
	t.Logf("Removed: %s", removed)
	for _, want := range []string{
		"Namespace/" + systemNamespace + " (never pruned: gitopsd keeps its inventories in it, gitopsd runs in it, gitopsd's leader election Lease is in it; left in place)",
		"Deployment.apps/" + systemNamespace + "/gitopsd (prune disabled by annotation gitopsd.io/prune; left in place)",
	} {
		if !strings.Contains(removed, want) {
			t.Errorf("the Removed Event does not say %q", want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ns, err := env.Client.CoreV1().Namespaces().Get(ctx, systemNamespace, metav1.GetOptions{}); err != nil || ns.DeletionTimestamp != nil {
		t.Errorf("namespace %s is going: %v", systemNamespace, err)
	}
	if holder := leaseHolder(ctx, lease); !strings.HasPrefix(holder, leader.pod.Name+"_") {
		t.Errorf("Lease %s is held by %q, not the leader %s", lease, holder, leader.pod.Name)
	}
	if err := rolledOut(k, selfImage+":v2", before); err != nil {
		t.Errorf("gitopsd's own Deployment: %v", err)
	}

	head = gitHost.commit(t, "release 3", map[string]string{"app/app.yaml": appRelease("3")})
	eventually(t, time.Minute, "gitopsd to go on applying: "+head[:12], func(ctx context.Context) error {
		if leader, err := k.leader(ctx); err != nil {
			return err
		} else if err := appliedAt(leader, head); err != nil {
			return err
		}
		return released(ctx, "3")
	})
}

// freshInstall deletes the Deployment an earlier test made, and waits for
// its Pods to go, so that this test's kubelet runs this test's Pods only.
func freshInstall(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := env.Client.AppsV1().Deployments(systemNamespace).Delete(ctx, "gitopsd", metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the Pods of an earlier install to go", func(ctx context.Context) error {
		pods, err := env.Client.CoreV1().Pods(systemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=gitopsd"})
		if err != nil || len(pods.Items) > 0 {
			return fmt.Errorf("%d Pods (%v)", len(pods.Items), err)
		}
		return nil
	})
}

// selfInstallation puts examples/repo's gitopsd installation into the
// fleet at work, deploy/ as its base, set for this test: the image
// selfImage:v1, the repository at url, a poll every 2 s. The example's text
// must stay as the test expects it, so that what is tested is the example.
func selfInstallation(t *testing.T, work, url string) {
	t.Helper()
	root := filepath.Join("..", "..")
	data, err := os.ReadFile(filepath.Join(root, "examples", "repo", example.SelfPath, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := replaceOnce(string(data), "  - {name: ghcr.io/gitopsd/gitopsd, newTag: v0.1.0}", "  - {name: ghcr.io/gitopsd/gitopsd, newName: "+selfImage+", newTag: v1}")
	s, ok2 := replaceOnce(s, "      - GITOPSD_REPO=https://github.com/example/fleet.git", "      - GITOPSD_REPO="+url+"\n      - GITOPSD_INTERVAL=2s")
	if !ok || !ok2 {
		t.Fatalf("examples/repo/%s/kustomization.yaml no longer names the image or the repository as this test expects", example.SelfPath)
	}
	dir := filepath.Join(work, example.SelfPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := example.Deploy(root, work); err != nil {
		t.Fatal(err)
	}
}

func replaceOnce(s, old, new string) (string, bool) {
	return strings.Replace(s, old, new, 1), strings.Count(s, old) == 1
}

// selfKustomization is the fleet's gitopsd kustomization with the tag from
// changed to to.
func selfKustomization(t *testing.T, g *gitServer, from, to string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(g.repo.Work, example.SelfPath, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := replaceOnce(string(data), "newTag: "+from+"}", "newTag: "+to+"}")
	if !ok {
		t.Fatalf("the kustomization does not name tag %s once", from)
	}
	return s
}

// createSecret creates gitopsd's namespace and Secret out of Git, as the
// example says.
func createSecret(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gitopsd-secrets", Namespace: systemNamespace},
		StringData: map[string]string{"git-token": gitToken, "webhook-secret": webhookSecret},
	}
	secrets := env.Client.CoreV1().Secrets(systemNamespace)
	_, err := secrets.Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

func kubectl(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"--kubeconfig", env.Kubeconfig}, args...)
	out, err := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args[2:], " "), err, out)
	}
}

func deployment(t *testing.T) *metav1.ObjectMeta {
	t.Helper()
	d, err := env.Client.AppsV1().Deployments(systemNamespace).Get(context.Background(), "gitopsd", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &d.ObjectMeta
}

// rolledOut checks that the kubelet runs two Pods of img, none of before.
func rolledOut(k *kubelet, img string, before []string) error {
	replicas := k.replicas()
	if len(replicas) != 2 {
		return fmt.Errorf("%d replicas run, want 2", len(replicas))
	}
	for _, r := range replicas {
		if podImage(r.pod) != img || slices.Contains(before, r.pod.Name) {
			return fmt.Errorf("Pod %s runs %s", r.pod.Name, podImage(r.pod))
		}
	}
	return nil
}

// leaseHolder is the holder of the Lease name in gitopsd's namespace.
func leaseHolder(ctx context.Context, name string) string {
	l, err := env.Client.CoordinationV1().Leases(systemNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func appRelease(release string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: self-app\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: self-app\ndata:\n  release: \"" + release + "\"\n"
}

// released checks the app's ConfigMap is at release.
func released(ctx context.Context, release string) error {
	cm, err := env.Client.CoreV1().ConfigMaps("self-app").Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if got := cm.Data["release"]; got != release {
		return fmt.Errorf("ConfigMap self-app/settings at release %s, want %s", got, release)
	}
	return nil
}

// eventMessage is the message of the newest Event with reason on the
// ConfigMap name in gitopsd's namespace.
func eventMessage(ctx context.Context, reason, name string) (string, error) {
	events, err := env.Client.CoreV1().Events(systemNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, e := range slices.Backward(events.Items) {
		if e.Reason == reason && e.InvolvedObject.Kind == "ConfigMap" && e.InvolvedObject.Name == name {
			return e.Message, nil
		}
	}
	return "", fmt.Errorf("no %s Event on ConfigMap %s", reason, name)
}
