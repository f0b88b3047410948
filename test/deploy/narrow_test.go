package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNoCRDsNoRBACComponent: with the ClusterRole narrowed as README
// documents, a fleet of built-in workload kinds applies, and an
// installation holding a ClusterRole fails as forbidden, naming the kind.
func TestNoCRDsNoRBACComponent(t *testing.T) {
	_, repo, head := serveFleet(t, "plain")
	pods := applyDeploy(t, repo, "no-crds-no-rbac")
	r := startReplica(t, &pods[0], serviceAccountKubeconfig(t, &pods[0]))

	eventually(t, 3*time.Minute, "apps applied and rbac refused", func(context.Context) error {
		s, err := r.status()
		if err != nil {
			return err
		}
		phases := map[string]string{}
		for _, in := range s.Installations {
			phases[in.Name] = in.Phase
			if in.Name == "apps" && (in.Phase != "Ready" || in.AppliedCommit != head) {
				return fmt.Errorf("apps: %s at %s: %s", in.Phase, in.AppliedCommit, in.Message)
			}
			why := in.Message + " " + in.LastError
			if in.Name == "rbac" && (in.Phase != "Failed" || !strings.Contains(why, "forbidden") || !strings.Contains(why, "clusterroles")) {
				return fmt.Errorf("rbac: %s: %s", in.Phase, why)
			}
		}
		if len(phases) != 2 {
			return fmt.Errorf("installations %v", phases)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.Client.RbacV1().ClusterRoles().Get(ctx, "plain-reader", metav1.GetOptions{}); err == nil {
		t.Error("ClusterRole plain-reader exists, though the narrowed role may not create it")
	}
	if _, err := env.Client.CoreV1().ConfigMaps("plain").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Errorf("ConfigMap plain/settings: %v", err)
	}
}
