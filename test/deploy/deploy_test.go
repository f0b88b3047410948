package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// TestDeployRunsAFleetWithItsServiceAccount applies deploy/ and runs its two
// replicas as in their Pods, with no kubeconfig and nothing but the gitopsd
// ServiceAccount's tokens, against a fleet holding a CRD and one of its objects, a ClusterRole and a binding,
// a Namespace and a Deployment.
func TestDeployRunsAFleetWithItsServiceAccount(t *testing.T) {
	gitHost, repo, head := serveFleet(t, "fleet")
	pods := applyDeploy(t, repo, "network-policy")
	if img := pods[0].Spec.Containers[0].Image; img != "registry.example.com/gitopsd:"+version {
		t.Errorf("the Pods run %s, not the image the overlay names", img)
	}
	replicas := []*replica{startInPod(t, &pods[0]), startInPod(t, &pods[1])}

	// Everything in the fleet applies.
	var leader, standby *replica
	eventually(t, 3*time.Minute, "the fleet to be applied at "+head[:12], func(context.Context) error {
		for _, r := range replicas {
			s, err := r.status()
			if err != nil {
				return err
			}
			if !s.Leading {
				continue
			}
			if len(s.Installations) != 1 || s.Installations[0].Phase != "Ready" || s.Installations[0].AppliedCommit != head {
				return fmt.Errorf("leader %s: %+v", r.pod.Name, s.Installations)
			}
			leader = r
			return nil
		}
		return errors.New("no replica leads")
	})
	standby = replicas[0]
	if standby == leader {
		standby = replicas[1]
	}
	checkFleet(t)

	// A Lease names the leading Pod; the other stands by.
	lease := leaseHeldBy(t, leader)
	if s, err := standby.status(); err != nil || s.Leading {
		t.Errorf("standby %s: status %+v, %v; want not leading", standby.pod.Name, s, err)
	}

	// The probes: both replicas are live and ready, the standby too. Both
	// take webhooks signed with the secret of the Secret volume.
	for _, r := range replicas {
		checkProbes(t, r, "with the fleet applied")
		if code := r.ping(webhookSecret); code != http.StatusOK {
			t.Errorf("%s: ping signed with the Secret's webhook secret answered %d, want 200", r.pod.Name, code)
		}
		if code := r.ping("another secret"); code != http.StatusUnauthorized {
			t.Errorf("%s: ping signed with another secret answered %d, want 401", r.pod.Name, code)
		}
		if body, err := r.get(r.pod.Annotations["prometheus.io/path"]); err != nil || !strings.Contains(body, "gitopsd_webhook_requests_total") {
			t.Errorf("%s: scraping the annotated path: %v\n%.300s", r.pod.Name, err, body)
		}
	}

	// A push delivered to the standby is applied by the leader within 2 s:
	// the standby forwards it to the address the leader published in the
	// Lease (its POD_IP), through the Service's port as the Pods see it.
	head = gitHost.commit(t, "settings", map[string]string{"fleet/settings.yaml": settings})
	start := time.Now()
	if code := standby.push(webhookSecret, repo, head); code != http.StatusAccepted {
		t.Errorf("push to the standby answered %d, want 202", code)
	}
	eventually(t, 10*time.Second, "the leader to apply the commit pushed to the standby", func(context.Context) error {
		return appliedAt(leader, head)
	})
	took := time.Since(start)
	t.Logf("push to the standby applied by the leader in %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("a push to the standby took %s to apply, want within 2s", took)
	}

	// A hand edit is put back, and reported with an Event on the object.
	correctsDrift(t, "the leader")
	eventually(t, 30*time.Second, "Events from gitopsd", func(ctx context.Context) error {
		return errors.Join(
			hasEvent(ctx, leader.pod.Name, "shop", "Drift", "Deployment", "web"),
			hasEvent(ctx, leader.pod.Name, systemNamespace, "Applied", "ConfigMap", ""),
		)
	})
	// README's step 5 shows both Pods, the Lease and what was applied.
	readmeCheck(t, "pod/"+leader.pod.Name, "pod/"+standby.pod.Name, "lease.coordination.k8s.io/"+lease, "Applied")

	// Git goes away: a push makes the leader look, and fail; both replicas
	// stay live and ready. The standby never looks: only the leader polls.
	gitHost.down.Store(true)
	if code := standby.push(webhookSecret, repo, head); code != http.StatusAccepted {
		t.Errorf("push to the standby answered %d, want 202", code)
	}
	eventually(t, 30*time.Second, "the leader to see the repository fail", func(context.Context) error {
		s, err := leader.status()
		if err != nil {
			return err
		}
		if s.Source.ConsecutiveFailures == 0 {
			return fmt.Errorf("%s has not failed a poll yet", leader.pod.Name)
		}
		return nil
	})
	for _, r := range replicas {
		checkProbes(t, r, "with Git unreachable")
	}
	if s, err := standby.status(); err != nil || s.Source.Commit != "" || s.Source.ConsecutiveFailures != 0 {
		t.Errorf("standby %s: source %+v, %v; want it never to look at the repository", standby.pod.Name, s.Source, err)
	}
	gitHost.down.Store(false)

	// The leader stops as a rollout or a drain stops it: it exits within
	// the Pod's grace period, and the standby takes the Lease and applies.
	grace := time.Duration(*leader.pod.Spec.TerminationGracePeriodSeconds) * time.Second
	took, err := leader.stop(grace)
	if err != nil {
		t.Fatalf("leader after SIGTERM: %v", err)
	}
	t.Logf("leader %s stopped in %s (grace %s)", leader.pod.Name, took.Round(time.Millisecond), grace)
	eventually(t, 30*time.Second, "the standby to lead", func(context.Context) error {
		s, err := standby.status()
		if err != nil {
			return err
		}
		if !s.Leading {
			return fmt.Errorf("%s does not lead", standby.pod.Name)
		}
		return nil
	})
	if moved := leaseHeldBy(t, standby); moved != lease {
		t.Errorf("the new leader holds Lease %s, not %s", moved, lease)
	}
	correctsDrift(t, "the new leader")
	eventually(t, 30*time.Second, "the new leader to apply "+head[:12], func(context.Context) error {
		return appliedAt(standby, head)
	})
}

// settings is a ConfigMap added to the fleet by a commit.
const settings = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {color: blue}
`

// appliedAt reports whether r leads with every installation Ready at commit.
func appliedAt(r *replica, commit string) error {
	s, err := r.status()
	if err != nil {
		return err
	}
	if !s.Leading {
		return fmt.Errorf("%s does not lead", r.pod.Name)
	}
	for _, in := range s.Installations {
		if in.Phase != "Ready" || in.AppliedCommit != commit {
			return fmt.Errorf("%s: %s %s at %.12s: %s", r.pod.Name, in.Name, in.Phase, in.AppliedCommit, in.Message)
		}
	}
	if len(s.Installations) == 0 {
		return fmt.Errorf("%s: no installations", r.pod.Name)
	}
	return nil
}

var (
	widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	roles   = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	binds   = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
)

// checkFleet finds every object of the fleet in the cluster, labelled as
// gitopsd's, and the Deployment rolled out.
func checkFleet(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		gvr             schema.GroupVersionResource
		namespace, name string
	}{{widgets, "shop", "sprocket"}, {roles, "", "shop-widget-reader"}, {binds, "shop", "widget-readers"}} {
		obj, err := dyn.Resource(o.gvr).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s %s/%s: %v", o.gvr.Resource, o.namespace, o.name, err)
			continue
		}
		if obj.GetLabels()["gitopsd.io/installation"] != "fleet" {
			t.Errorf("%s %s/%s has labels %v", o.gvr.Resource, o.namespace, o.name, obj.GetLabels())
		}
	}
	eventually(t, time.Minute, "Deployment shop/web to be available", func(ctx context.Context) error {
		d, err := env.Client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != 2 {
			return fmt.Errorf("%d of 2 replicas available", d.Status.AvailableReplicas)
		}
		return nil
	})
}

// leaseHeldBy waits until a Lease in gitopsd's namespace names r's Pod as
// its holder, and returns its name.
func leaseHeldBy(t *testing.T, r *replica) string {
	t.Helper()
	var name string
	eventually(t, 30*time.Second, "a Lease to name "+r.pod.Name, func(ctx context.Context) error {
		leases, err := env.Client.CoordinationV1().Leases(systemNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var holders []string
		for _, l := range leases.Items {
			if h := l.Spec.HolderIdentity; h != nil {
				if strings.HasPrefix(*h, r.pod.Name+"_") {
					name = l.Name
					return nil
				}
				holders = append(holders, l.Name+" by "+*h)
			}
		}
		return fmt.Errorf("Leases held: %v", holders)
	})
	return name
}

// checkProbes asks r's liveness and readiness probes, which must pass.
func checkProbes(t *testing.T, r *replica, when string) {
	t.Helper()
	if code := r.probe(r.spec.LivenessProbe); code != http.StatusOK {
		t.Errorf("%s %s: liveness probe answered %d, want 200 (the kubelet would restart it)", r.pod.Name, when, code)
	}
	eventually(t, 30*time.Second, r.pod.Name+" to be ready "+when, func(context.Context) error {
		if code := r.probe(r.spec.ReadinessProbe); code != http.StatusOK {
			return fmt.Errorf("readiness probe answered %d", code)
		}
		return nil
	})
}

// correctsDrift scales the fleet's Deployment by hand and waits for Git's
// replicas to be back.
func correctsDrift(t *testing.T, who string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := env.Client.AppsV1().Deployments("shop").Patch(ctx, "web", types.MergePatchType,
		[]byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, who+" to put Deployment shop/web back at 2 replicas", func(ctx context.Context) error {
		d, err := env.Client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != 2 {
			return fmt.Errorf("%d replicas", *d.Spec.Replicas)
		}
		return nil
	})
}

// hasEvent finds an Event that gitopsd wrote from pod (POD_NAME) in
// namespace with reason, on an object of kind (and name, unless empty).
func hasEvent(ctx context.Context, pod, namespace, reason, kind, name string) error {
	events, err := env.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Source.Component == "gitopsd" && e.Source.Host == pod && e.Reason == reason && e.InvolvedObject.Kind == kind && (name == "" || e.InvolvedObject.Name == name) {
			return nil
		}
	}
	return fmt.Errorf("no %s Event from %s on a %s in %s among %d", reason, pod, kind, namespace, len(events.Items))
}
