package bluegreen

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const labelInstallation = apply.LabelInstallation

// notAvailable is why a colour or a Job did not become ready: the cutover
// is aborted with it.
type notAvailable struct{ reason string }

func (e *notAvailable) Error() string { return e.reason }

// waitFor calls check every Poll until it returns done or an error, or
// timeout passes; then the last reason check gave is a *notAvailable.
func (c *Cutover) waitFor(ctx context.Context, timeout time.Duration, check func(ctx context.Context) (done bool, reason string, err error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(c.opts.Poll)
	defer tick.Stop()
	for {
		done, reason, err := check(ctx)
		if done || err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			return &notAvailable{reason: fmt.Sprintf("%s after %s", reason, timeout)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// waitAvailable waits until Deployment name is fully available: every
// replica updated, ready and available, at least one, and the preview
// Service, when given, has a ready endpoint. A Deployment whose progress
// deadline passed fails at once.
func (c *Cutover) waitAvailable(ctx context.Context, namespace, name, preview string, timeout time.Duration) error {
	return c.waitFor(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		d, err := c.client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			// A read cut short by ctx ends the wait; another is retried.
			return false, fmt.Sprintf("Deployment %s cannot be read: %v", name, err), ctx.Err()
		}
		if reason, failed := progressFailed(d); failed {
			return false, "", &notAvailable{reason: fmt.Sprintf("Deployment %s failed: %s; %s", name, reason, c.unreadyPods(ctx, d))}
		}
		if ok, reason := fullyAvailable(d); !ok {
			return false, fmt.Sprintf("Deployment %s is not available: %s; %s", name, reason, c.unreadyPods(ctx, d)), nil
		}
		if preview != "" {
			if ok, reason := c.readyEndpoints(ctx, namespace, preview); !ok {
				return false, reason, nil
			}
		}
		return true, "", nil
	})
}

// fullyAvailable reports whether every wanted replica of d runs the
// current template and is ready and available; a Deployment of no replicas
// never is.
func fullyAvailable(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case want == 0:
		return false, "it has no replicas"
	case s.ObservedGeneration < d.Generation:
		return false, "its controller has not seen the latest template yet"
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.ReadyReplicas < want || s.AvailableReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas ready, %d available", s.ReadyReplicas, want, s.AvailableReplicas)
	case s.Replicas > want:
		return false, fmt.Sprintf("%d old replicas still terminating", s.Replicas-want)
	}
	return true, ""
}

// progressFailed reports whether d's progress deadline passed.
func progressFailed(d *appsv1.Deployment) (string, bool) {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return c.Message, true
		}
	}
	return "", false
}

// unreadyPods names up to a few pods of d that are not ready, and why.
func (c *Cutover) unreadyPods(ctx context.Context, d *appsv1.Deployment) string {
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || selector.Empty() {
		return "its pods cannot be listed"
	}
	pods, err := c.client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return "its pods cannot be listed: " + err.Error()
	}
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && !podReady(&p) {
			names = append(names, fmt.Sprintf("%s (%s)", p.Name, podProblem(&p)))
		}
	}
	sort.Strings(names)
	switch {
	case len(pods.Items) == 0:
		return "it has no pods"
	case len(names) == 0:
		return "its pods are ready"
	case len(names) > 3:
		names = append(names[:3], fmt.Sprintf("%d more", len(names)-3))
	}
	return "pods not ready: " + strings.Join(names, ", ")
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podProblem says in a few words why p is not ready.
func podProblem(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return cs.Name + ": " + w.Reason
		}
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("%s: terminated, %s", cs.Name, t.Reason)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
			return strings.TrimSpace("Ready=" + string(c.Status) + " " + c.Reason)
		}
	}
	return "phase " + string(p.Status.Phase)
}

// readyEndpoints reports whether Service name has a ready endpoint.
func (c *Cutover) readyEndpoints(ctx context.Context, namespace, name string) (bool, string) {
	slices, err := c.client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{discoveryv1.LabelServiceName: name}.String(),
	})
	if err != nil {
		return false, fmt.Sprintf("endpoints of Service %s cannot be listed: %v", name, err)
	}
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("preview Service %s has no ready endpoint", name)
}

// waitJob waits until Job name completes; its failure is a *notAvailable
// with the Job's reason.
func (c *Cutover) waitJob(ctx context.Context, namespace, name string, timeout time.Duration) error {
	return c.waitFor(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		job, err := c.client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return false, "", &notAvailable{reason: fmt.Sprintf("pre-cutover Job %s was deleted before it completed", name)}
		case err != nil:
			return false, fmt.Sprintf("pre-cutover Job %s cannot be read: %v", name, err), ctx.Err()
		}
		for _, cond := range job.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return true, "", nil
			case batchv1.JobFailed:
				return false, "", &notAvailable{reason: fmt.Sprintf("pre-cutover Job %s failed: %s: %s", name, cond.Reason, cond.Message)}
			}
		}
		return false, fmt.Sprintf("pre-cutover Job %s has not completed (%d active, %d failed)", name, job.Status.Active, job.Status.Failed), nil
	})
}
