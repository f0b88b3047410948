package testenv

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testStagesYAML are kwok Stages that make pods unhealthy on demand (see
// the labels in the file): an unready colour or a failing Job in a test is
// real, not simulated.
//
//go:embed stages.yaml
var testStagesYAML []byte

// Labels of the test stages (see stages.yaml).
const (
	// LabelUnready set to "true" on a pod keeps it running and not ready;
	// removing it makes the pod ready.
	LabelUnready = "gitopsd.test/unready"
	// LabelFail set to "true" on a pod of a Job makes it fail.
	LabelFail = "gitopsd.test/fail"
)

// startControllers adds kube-controller-manager, kube-scheduler and kwok to a
// running API plane, registers fake nodes, and waits until they are Ready.
func (e *Env) startControllers(ctx context.Context, binDir string, nodes int) error {
	kubeconfig := "--kubeconfig=" + e.Kubeconfig
	kcm, err := e.start("kube-controller-manager", filepath.Join(binDir, "kube-controller-manager"),
		kubeconfig, "--leader-elect=false", "--secure-port=0",
		// No token controller: pods on fake nodes mount nothing.
		"--controllers=*,-serviceaccount-token",
		// Autoscalers act within a second, not fifteen.
		"--horizontal-pod-autoscaler-sync-period=1s")
	if err != nil {
		return err
	}
	scheduler, err := e.start("kube-scheduler", filepath.Join(binDir, "kube-scheduler"),
		kubeconfig, "--leader-elect=false", "--secure-port=0")
	if err != nil {
		return err
	}
	testStages := filepath.Join(e.Dir, "kwok-test-stages.yaml")
	if err := os.WriteFile(testStages, testStagesYAML, 0o644); err != nil {
		return err
	}
	kwok, err := e.start("kwok", filepath.Join(binDir, "kwok"),
		kubeconfig, "--manage-all-nodes=true",
		// Without leases, the node lifecycle controller marks the nodes
		// unknown after a minute and their pods not ready.
		"--node-lease-duration-seconds=40",
		"--config="+filepath.Join(binDir, kwokStages), "--config="+testStages)
	if err != nil {
		return err
	}
	for i := range nodes {
		if err := e.createNode(ctx, fmt.Sprintf("kwok-node-%d", i)); err != nil {
			return err
		}
	}
	return poll(ctx, time.Minute, "fake nodes to be Ready", func(ctx context.Context) error {
		if err := errors.Join(kcm.running(), scheduler.running(), kwok.running()); err != nil {
			return permanent(err)
		}
		list, err := e.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range list.Items {
			if !nodeReady(&n) {
				return fmt.Errorf("node %s is not Ready", n.Name)
			}
		}
		return nil
	})
}

func (e *Env) createNode(ctx context.Context, name string) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels: map[string]string{
				"type": "kwok", "kubernetes.io/hostname": name,
				"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	_, err := e.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
