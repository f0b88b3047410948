package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// kubelet runs gitopsd for the Pods of deploy/'s Deployment as a kubelet
// would, which kwok's fake nodes do not: a process for every Pod that is
// running, SIGTERM once the Pod is deleted. Each process holds a token of
// the ServiceAccount not bound to its Pod object, since kwok deletes a Pod
// at once, where a real Pod's object and token last through its grace
// period. sync does one round; the test calls it from its own goroutine
// while it waits.
type kubelet struct {
	t       *testing.T
	running map[types.UID]*replica
}

func newKubelet(t *testing.T) *kubelet {
	return &kubelet{t: t, running: map[types.UID]*replica{}}
}

// sync starts a process for each running Pod without one and stops those
// whose Pod is gone or going.
func (k *kubelet) sync(ctx context.Context) error {
	list, err := env.Client.CoreV1().Pods(systemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=gitopsd"})
	if err != nil {
		return err
	}
	live := map[types.UID]bool{}
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp != nil || !podReady(p) {
			continue
		}
		live[p.UID] = true
		if k.running[p.UID] == nil {
			k.running[p.UID] = startReplica(k.t, p, tokenKubeconfig(k.t, p, nil))
		}
	}
	for uid, r := range k.running {
		if !live[uid] {
			_ = r.cmd.Process.Signal(syscall.SIGTERM) // the kubelet's stop; Cleanup kills what lingers
			delete(k.running, uid)
		}
	}
	return nil
}

// replicas are the processes of the running Pods.
func (k *kubelet) replicas() []*replica {
	var out []*replica
	for _, r := range k.running {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *replica) int { return a.pod.CreationTimestamp.Compare(b.pod.CreationTimestamp.Time) })
	return out
}

// leader syncs, then returns the replica that says it leads.
func (k *kubelet) leader(ctx context.Context) (*replica, error) {
	if err := k.sync(ctx); err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range k.replicas() {
		s, err := r.status()
		switch {
		case err != nil:
			errs = append(errs, err)
		case s.Leading:
			return r, nil
		}
	}
	return nil, fmt.Errorf("none of %d replicas leads: %w", len(k.running), errors.Join(errs...))
}

// podImage is the image of pod's container.
func podImage(p *corev1.Pod) string { return p.Spec.Containers[0].Image }
