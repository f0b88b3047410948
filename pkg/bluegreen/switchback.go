package bluegreen

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// switchBack moves the traffic back to the kept colour when the live
// colour, switched to by the last cutover, became unavailable while the
// kept one is still fully available. The colour that failed is scaled to
// zero and the cutover is failed: only a new commit or gitopsd promote
// tries its template again. done says the reconcile ends with res.
func (x *run) switchBack(ctx context.Context) (res Result, done bool) {
	a := x.st.Attempt
	kept := x.st.Live.Other()
	v := x.st.version(kept)
	if a.Active() || x.st.Live == "" || v == nil || v.Replicas == 0 || v.KeepUntil == nil || !x.now().Before(*v.KeepUntil) {
		return Result{}, false
	}
	deployments := x.c.client.AppsV1().Deployments(x.r.namespace)
	liveName, keptName := ColouredName(x.in.Spec.Deployment, x.st.Live), ColouredName(x.in.Spec.Deployment, kept)
	live, err := deployments.Get(ctx, liveName, metav1.GetOptions{})
	if err != nil {
		return Result{}, false
	}
	why, down := unavailable(live)
	if !down {
		return Result{}, false
	}
	old, err := deployments.Get(ctx, keptName, metav1.GetOptions{})
	if err != nil {
		return Result{}, false
	}
	if ok, _ := fullyAvailable(old); !ok {
		return Result{}, false // switching would not help
	}
	left := x.st.Live
	var undone *Attempt
	if a != nil && a.To == left {
		undone = a
	}
	msg := fmt.Sprintf("switched back to %s: %s became unavailable (%s; %s)", kept, liveName, why, x.c.unreadyPods(ctx, live))
	if undone != nil {
		undone.Reason = msg
	}
	x.st.version(left).Replicas = 0 // it failed: only the colour that serves runs
	if err := x.switchTo(ctx, kept, undone, StepSwitchedBack, msg); err != nil {
		return x.failed(err), true
	}
	x.st.version(left).KeepUntil = nil
	if err := x.save(ctx); err != nil {
		return x.failed(err), true
	}
	return Result{Outcome: Failed, Err: errors.New(msg), Terminal: undone != nil}, true
}

// unavailable reports whether the Deployment d, which serves, lost its
// availability: the controller says so, or no replica is ready.
func unavailable(d *appsv1.Deployment) (string, bool) {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionFalse {
			return c.Reason + ": " + c.Message, true
		}
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas > 0 && d.Status.ReadyReplicas == 0 {
		return "no replica is ready", true
	}
	return "", false
}
