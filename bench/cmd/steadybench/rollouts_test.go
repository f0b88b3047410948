package main

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// TestRolledOutIsCurrent checks that the status Rollouts writes is one
// the daemon's health wait (kstatus) takes as Current.
func TestRolledOutIsCurrent(t *testing.T) {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a", Generation: 3},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), ProgressDeadlineSeconds: ptr.To[int32](600)},
	}
	if rolledOut(d) {
		t.Fatal("a Deployment without status counts as rolled out")
	}
	if got := kstatus(t, d); got != status.InProgressStatus {
		t.Fatalf("before: %s, want InProgress", got)
	}
	d.Status = rolledOutStatus(d, metav1.Now())
	if !rolledOut(d) {
		t.Error("not rolled out after rolledOutStatus")
	}
	if got := kstatus(t, d); got != status.CurrentStatus {
		t.Errorf("after: %s, want Current", got)
	}
	d.Generation++
	if rolledOut(d) {
		t.Error("a new generation counts as rolled out")
	}
}

func kstatus(t *testing.T, d *appsv1.Deployment) status.Status {
	t.Helper()
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}
