package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

var env *Env

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	Main(m, API, &env)
}

func TestServerSideApplyConfigMap(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	cm := corev1ac.ConfigMap("settings", ns).WithData(map[string]string{"colour": "blue"})
	got, err := env.Client.CoreV1().ConfigMaps(ns).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: "gitopsd", Force: true})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if got.Data["colour"] != "blue" {
		t.Errorf("data = %v, want colour=blue", got.Data)
	}
	var managers []string
	for _, f := range got.ManagedFields {
		managers = append(managers, fmt.Sprintf("%s/%s", f.Manager, f.Operation))
	}
	if len(managers) != 1 || managers[0] != "gitopsd/Apply" {
		t.Errorf("managed fields by %v, want only gitopsd/Apply", managers)
	}
}

func TestKubeconfigWorksWithKubectl(t *testing.T) {
	kubectl := BinDir() + "/kubectl"
	out, err := exec.Command(kubectl, "--kubeconfig", env.Kubeconfig, "get", "namespace", "default", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "namespace/default" {
		t.Errorf("kubectl printed %q, want namespace/default", out)
	}
}

// TestFullPlaneRollsOutDeployment starts its own Full plane, rolls out a
// Deployment on fake nodes, and checks that Stop leaves no process behind.
func TestFullPlaneRollsOutDeployment(t *testing.T) {
	ctx := context.Background()
	full, err := Start(ctx, Options{Size: Full})
	if err != nil {
		t.Fatal(err)
	}
	pids := full.PIDs()
	defer func() {
		full.Stop()
		waitGone(t, pids)
	}()

	ns, err := full.Client.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rollout"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	deploy := appsv1ac.Deployment("web", ns.Name).WithSpec(appsv1ac.DeploymentSpec().
		WithReplicas(3).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(corev1ac.PodSpec().
			WithContainers(corev1ac.Container().WithName("web").WithImage("nginx:1.27")))))
	if _, err := full.Client.AppsV1().Deployments(ns.Name).Apply(ctx, deploy, metav1.ApplyOptions{FieldManager: "gitopsd"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = poll(ctx, 30*time.Second, "deployment web to be available", func(ctx context.Context) error {
		d, err := full.Client.AppsV1().Deployments(ns.Name).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != 3 || !available(d) {
			return fmt.Errorf("%d of 3 replicas available", d.Status.AvailableReplicas)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deployment available after %s", time.Since(start).Round(time.Millisecond))

	// Nodes stay Ready, and their pods with them, only while kwok renews
	// their leases.
	err = poll(ctx, 30*time.Second, "node leases", func(ctx context.Context) error {
		leases, err := full.Client.CoordinationV1().Leases("kube-node-lease").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(leases.Items) != 2 {
			return fmt.Errorf("%d node leases, want 2", len(leases.Items))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	testStages(t, full, ns.Name)
}

// testStages checks the test stages: a pod labelled unready runs and is not
// ready until the label goes; a Job whose pods are labelled to fail fails,
// another completes.
func testStages(t *testing.T, full *Env, ns string) {
	ctx := context.Background()
	pod := corev1ac.Pod("unready", ns).WithLabels(map[string]string{LabelUnready: "true"}).
		WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("c").WithImage("busybox")))
	if _, err := full.Client.CoreV1().Pods(ns).Apply(ctx, pod, metav1.ApplyOptions{FieldManager: "test"}); err != nil {
		t.Fatal(err)
	}
	ready := func(want corev1.ConditionStatus) func(context.Context) error {
		return func(ctx context.Context) error {
			p, err := full.Client.CoreV1().Pods(ns).Get(ctx, "unready", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == want && p.Status.Phase == corev1.PodRunning {
					return nil
				}
			}
			return fmt.Errorf("pod is %s, conditions %v; want running with Ready=%s", p.Status.Phase, p.Status.Conditions, want)
		}
	}
	if err := poll(ctx, 30*time.Second, "a pod labelled unready to run, not ready", ready(corev1.ConditionFalse)); err != nil {
		t.Fatal(err)
	}
	unlabel := []byte(`{"metadata":{"labels":{"` + LabelUnready + `":null}}}`)
	if _, err := full.Client.CoreV1().Pods(ns).Patch(ctx, "unready", types.MergePatchType, unlabel, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, 30*time.Second, "the pod to become ready without the label", ready(corev1.ConditionTrue)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]batchv1.JobConditionType{"fails": batchv1.JobFailed, "completes": batchv1.JobComplete} {
		labels := map[string]string{}
		if want == batchv1.JobFailed {
			labels[LabelFail] = "true"
		}
		job := batchv1ac.Job(name, ns).WithSpec(batchv1ac.JobSpec().WithBackoffLimit(0).WithTemplate(corev1ac.PodTemplateSpec().
			WithLabels(labels).WithSpec(corev1ac.PodSpec().WithRestartPolicy(corev1.RestartPolicyNever).
			WithContainers(corev1ac.Container().WithName("c").WithImage("busybox")))))
		if _, err := full.Client.BatchV1().Jobs(ns).Apply(ctx, job, metav1.ApplyOptions{FieldManager: "test"}); err != nil {
			t.Fatal(err)
		}
		err := poll(ctx, 30*time.Second, "Job "+name, func(ctx context.Context) error {
			j, err := full.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range j.Status.Conditions {
				if c.Type == want && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("conditions %v, want %s", j.Status.Conditions, want)
		})
		if err != nil {
			t.Error(err)
		}
	}
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

const crashChildEnv = "GITOPSD_TESTENV_CRASH_CHILD"

// crashChild starts a plane, prints its PIDs and panics without stopping it.
func crashChild() {
	e, err := Start(context.Background(), Options{Size: API})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("pids:", strings.Trim(fmt.Sprint(e.PIDs()), "[]"))
	panic("test panicked with the control plane running")
}

// TestPanicLeavesNoProcess runs a test binary that panics while its plane runs
// and checks that the kernel took the plane down with it.
func TestPanicLeavesNoProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1")
	out, _ := cmd.CombinedOutput()
	var pids []int
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "pids: "); ok {
			for _, f := range strings.Fields(rest) {
				pid, _ := strconv.Atoi(f)
				pids = append(pids, pid)
			}
		}
	}
	if len(pids) != 2 {
		t.Fatalf("child printed no PIDs of etcd and kube-apiserver:\n%s", out)
	}
	waitGone(t, pids)
}

// waitGone fails the test unless every pid is gone (or a zombie) within 10s.
func waitGone(t *testing.T, pids []int) {
	t.Helper()
	err := poll(context.Background(), 10*time.Second, "processes to exit", func(context.Context) error {
		for _, pid := range pids {
			if alive(pid) {
				return fmt.Errorf("process %d is still running", pid)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses; Z is a zombie.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
