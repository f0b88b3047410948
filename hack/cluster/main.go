// Command cluster runs the full local control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok fake nodes) in the foreground
// until interrupted: `make cluster`. Each run starts from an empty cluster.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir := filepath.Join(testenv.CacheDir(), "cluster")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if running(ctx, kubeconfig) {
		return fmt.Errorf("a local cluster is already running (kubeconfig %s); stop it first", kubeconfig)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	start := time.Now()
	env, err := testenv.Start(ctx, testenv.Options{Size: testenv.Full, Dir: dir})
	if err != nil {
		return err
	}
	defer env.Stop()
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	fmt.Printf(`Local cluster %s is up after %s (logs in %s).

Use it from another terminal:
  export KUBECONFIG=%s
  %s get nodes

Press Ctrl-C to stop it.
`, testenv.KubernetesVersion, time.Since(start).Round(time.Millisecond), dir, env.Kubeconfig, kubectl)
	<-ctx.Done()
	fmt.Println("\nstopping the local cluster ...")
	return nil
}

// running reports whether a cluster answers at kubeconfig.
func running(ctx context.Context, kubeconfig string) bool {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return false
	}
	cfg.Timeout = 2 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false
	}
	return client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error() == nil
}
