// Package testenv runs a real Kubernetes control plane on loopback for tests,
// benchmarks and the demo: etcd and kube-apiserver (size API), plus
// kube-controller-manager, kube-scheduler and kwok fake nodes (size Full) so
// that workloads really roll out. The binaries come from the cache that
// `make tools` fills (see BinDir).
//
// Packages start one plane per test binary from TestMain and give each test a
// fresh namespace:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }
//
//	func TestSomething(t *testing.T) {
//		ns := env.Namespace(t)
//		...
//	}
//
// Every child process is killed when Stop runs, and by the kernel when the
// test binary dies first (panic, timeout, SIGKILL).
package testenv
