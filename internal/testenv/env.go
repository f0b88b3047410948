package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Size says how much of a control plane to run.
type Size int

const (
	// API runs etcd and kube-apiserver: enough to apply, watch and prune.
	API Size = iota
	// Full adds kube-controller-manager, kube-scheduler and kwok fake nodes,
	// so that Deployments really become available.
	Full
)

func (s Size) String() string {
	if s == Full {
		return "full"
	}
	return "api"
}

// Options configure Start.
type Options struct {
	Size Size
	// BinDir holds the binaries; default BinDir().
	BinDir string
	// Dir holds certificates, etcd data, logs and the kubeconfig. Default: a
	// new temporary directory that Stop removes.
	Dir string
	// Nodes is the number of fake nodes of a Full plane; default 2.
	Nodes int
}

// Env is a running control plane.
type Env struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Client is a typed client for Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// Dir holds the plane's state and one log file per process.
	Dir string

	size      Size
	procs     []*process
	removeDir bool
}

// Start starts a control plane of opts.Size and waits until it serves (and,
// for Full, until its nodes are Ready). On error nothing is left running.
func Start(ctx context.Context, opts Options) (env *Env, err error) {
	if opts.BinDir == "" {
		opts.BinDir = BinDir()
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	need := binaries[:2]
	if opts.Size == Full {
		need = binaries[:5]
	}
	if err := checkBinaries(opts.BinDir, need...); err != nil {
		return nil, err
	}
	env = &Env{Dir: opts.Dir, size: opts.Size}
	if env.Dir == "" {
		if env.Dir, err = os.MkdirTemp("", "gitopsd-testenv-"); err != nil {
			return nil, err
		}
		env.removeDir = true
	} else if err := os.MkdirAll(env.Dir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			env.Stop()
			env = nil
		}
	}()
	if err := env.startAPI(ctx, opts.BinDir); err != nil {
		return env, err
	}
	if opts.Size == Full {
		if err := env.startControllers(ctx, opts.BinDir, opts.Nodes); err != nil {
			return env, err
		}
	}
	return env, nil
}

// startAPI starts etcd and kube-apiserver and fills Config, Client and Kubeconfig.
func (e *Env) startAPI(ctx context.Context, binDir string) error {
	certs, err := newPKI(e.Dir)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd, err := e.start("etcd", filepath.Join(binDir, "etcd"),
		"--name=default",
		"--data-dir="+filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync=true",
		"--log-level=warn")
	if err != nil {
		return err
	}
	apiserver, err := e.start("kube-apiserver", filepath.Join(binDir, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		// A loopback address cannot back the kubernetes Service endpoints.
		"--endpoint-reconciler-type=none",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--cert-dir="+e.Dir,
		"--tls-cert-file="+certs.files["serving.crt"],
		"--tls-private-key-file="+certs.files["serving.key"],
		"--client-ca-file="+certs.files["ca.crt"],
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+certs.files["sa.pub"],
		"--service-account-signing-key-file="+certs.files["sa.key"],
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--allow-privileged=true")
	if err != nil {
		return err
	}
	e.Config = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(ports[2]),
		TLSClientConfig: rest.TLSClientConfig{CAData: certs.caCert, CertData: certs.adminCert, KeyData: certs.adminKey},
		QPS:             1000,
		Burst:           2000,
	}
	if e.Client, err = kubernetes.NewForConfig(e.Config); err != nil {
		return err
	}
	if e.Kubeconfig, err = writeKubeconfig(filepath.Join(e.Dir, "kubeconfig"), e.Config); err != nil {
		return err
	}
	return poll(ctx, time.Minute, "kube-apiserver to be ready", func(ctx context.Context) error {
		if err := errors.Join(etcd.running(), apiserver.running()); err != nil {
			return permanent(err)
		}
		return e.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	})
}

func (e *Env) start(name, bin string, args ...string) (*process, error) {
	p, err := startProcess(e.Dir, name, bin, args...)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// Stop stops every process in reverse start order and removes a temporary Dir.
func (e *Env) Stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop(5 * time.Second)
	}
	e.procs = nil
	if e.removeDir {
		os.RemoveAll(e.Dir)
	}
}

// PIDs lists the process IDs of the plane's processes.
func (e *Env) PIDs() []int {
	pids := make([]int, len(e.procs))
	for i, p := range e.procs {
		pids[i] = p.cmd.Process.Pid
	}
	return pids
}

// Size reports the size the plane was started with.
func (e *Env) Size() Size { return e.size }

func writeKubeconfig(path string, cfg *rest.Config) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["gitopsd-local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["gitopsd-local"] = &clientcmdapi.Context{Cluster: "gitopsd-local", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "gitopsd-local"
	return path, clientcmd.WriteToFile(*kc, path)
}

// freePorts asks the kernel for n free loopback ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
