// Package deploy proves deploy/ as a user runs it: the manifests applied
// with kubectl apply -k (through an overlay, as README shows) to a full
// local control plane, and the real gitopsd binary run with the container
// spec of the Pods that the Deployment made (arguments, environment, the
// ConfigMap, the Downward API) and nothing but a token of the gitopsd
// ServiceAccount: where a Pod has it, read by client-go's in-cluster
// configuration, or in a kubeconfig. That the fleet applies, drift is
// corrected, the Lease moves and Events are written is what shows the RBAC
// of deploy/ is enough; the probes are asked what the kubelet would ask,
// and a webhook delivered to the standby reaches the leader.
//
// gitopsd managing itself is run as a kubelet would run it: a process for
// every Pod kwok runs, stopped when the Pod goes, while an image tag
// changed in Git rolls gitopsd's own Deployment and the Lease moves.
//
// The overlay applied is README's ("Run it in your cluster", step 3) and
// its step 5 is run, so that the section stays true.
//
// The package holds only tests; go test ./test/deploy/ runs them.
package deploy
