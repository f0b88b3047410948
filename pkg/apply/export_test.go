package apply

import (
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Plane returns the client configuration and a clientset of the test
// plane, for the examples of package apply_test.
func Plane() (*rest.Config, kubernetes.Interface) { return env.Config, env.Client }
