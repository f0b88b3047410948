package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// refuseCreate makes the API server refuse to create the ConfigMap called
// name in ns, as a terminating namespace or an admission policy does, and
// returns the function that lifts the refusal.
func refuseCreate(t *testing.T, ns, name string) func() {
	t.Helper()
	ctx := context.Background()
	policies := env.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	bindings := env.Client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-" + ns},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "object.metadata.name != '" + name + "'", Message: "creating " + name + " is refused"}},
		},
	}
	if _, err := policies.Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-" + ns},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns},
			}},
		},
	}
	if _, err := bindings.Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lift := func() {
		_ = bindings.Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = policies.Delete(ctx, policy.Name, metav1.DeleteOptions{})
	}
	t.Cleanup(lift)
	// The policy is in force once a dry-run create is refused rather than
	// found to exist.
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	inForce := poll(30*time.Second, func() bool {
		_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && !apierrors.IsAlreadyExists(err)
	})
	if !inForce {
		t.Fatal("the admission policy did not come into force")
	}
	return lift
}

// TestFailedCorrectionsAreNotAFight deletes a managed object whose
// re-creation the API server refuses for a while. gitopsd's own failed
// writes are no fight with another writer: the object is not held, the
// installation is not Ready while the object is missing, and the retries
// put it back as soon as it can be created.
func TestFailedCorrectionsAreNotAFight(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/a.yaml":   cm("a", "1"),
		"app/b.yaml":   cm("b", "1"),
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	lift := refuseCreate(t, ns, "a")

	if err := env.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	d.waitFor(10*time.Second, "the failed correction", func(s Status) bool { return s.Installations[0].Phase == Failed })
	// Long enough for many corrections: once the fight threshold (3).
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		s := d.r.Status().Installations[0]
		if s.Phase == Ready {
			t.Fatalf("Ready while ConfigMap a is missing: %+v", s)
		}
		for _, dr := range s.Drift {
			if dr.Action == "held" {
				t.Fatalf("gitopsd's own failed writes held as a fight: %+v", dr)
			}
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	if s := d.r.Status().Installations[0]; !strings.Contains(s.LastError, "creating a is refused") {
		t.Errorf("the failure does not say why: %q", s.LastError)
	}
	if n := len(d.events.with("ApplyFailed")); n > 8 {
		t.Errorf("%d failed applies in 3s: failed corrections are retried without backoff", n)
	}

	lift()
	d.waitFor(15*time.Second, "the object back", func(s Status) bool { return s.Installations[0].Phase == Ready })
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "a", metav1.GetOptions{}); err != nil {
		t.Errorf("Ready, but ConfigMap a: %v", err)
	}
}

// TestReportedDeletionIsNotReady deletes an object of a drift: report
// installation: it stays deleted, and the installation says so until it is
// back.
func TestReportedDeletionIsNotReady(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n    drift: report\n",
		"app/a.yaml":   cm("a", "1"),
	})
	d := startDaemon(t, ns, rp, setup{})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))
	if err := env.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s := d.waitFor(10*time.Second, "the missing object in the phase", func(s Status) bool { return s.Installations[0].Phase == Failed })
	in := s.Installations[0]
	if len(in.NotReady) != 1 || in.NotReady[0].Object != "ConfigMap/"+ns+"/a" || !strings.Contains(in.LastError, "deleted in the cluster") {
		t.Errorf("the status does not name the missing object: %+v", in)
	}
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("drift: report put the object back: %v", err)
	}
	// Put back by hand as Git has it: Ready again.
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: ns, Labels: map[string]string{"gitopsd.io/installation": "app"}},
		Data:       map[string]string{"v": "1"},
	}, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatal(err)
	}
	d.waitFor(10*time.Second, "Ready once the object is back", func(s Status) bool { return s.Installations[0].Phase == Ready })
}
