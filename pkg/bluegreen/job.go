package bluegreen

import (
	"context"
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// runJob creates attempt a's pre-cutover Job from the rendered one, unless
// it exists (a resumed cutover), and deletes the Jobs of earlier cutovers.
// It is not in the inventory: it belongs to the cutover, not to Git.
func (x *run) runJob(ctx context.Context, a *Attempt) error {
	jobs := x.c.client.BatchV1().Jobs(x.r.namespace)
	u := x.r.job.DeepCopy()
	u.SetName(a.Job)
	u.SetNamespace(x.r.namespace)
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[labelInstallation], labels[LabelCutover] = x.in.Installation, strconv.Itoa(a.Number)
	u.SetLabels(labels)
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &job); err != nil {
		return fmt.Errorf("pre-cutover Job %s: %w", a.Job, err)
	}
	if _, err := jobs.Create(ctx, &job, metav1.CreateOptions{FieldManager: "gitopsd"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create pre-cutover Job %s: %w", a.Job, err)
	}
	earlier, err := jobs.List(ctx, metav1.ListOptions{LabelSelector: fmt.Sprintf("%s=%s,%s,%s!=%d", labelInstallation, x.in.Installation, LabelCutover, LabelCutover, a.Number)})
	if err != nil {
		return fmt.Errorf("list earlier pre-cutover Jobs: %w", err)
	}
	background := metav1.DeletePropagationBackground
	for _, j := range earlier.Items {
		err := jobs.Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete earlier pre-cutover Job %s: %w", j.Name, err)
		}
	}
	return nil
}
