package apply

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// establishTimeout bounds the wait for a new CustomResourceDefinition to be
// served.
const establishTimeout = 30 * time.Second

// waitEstablished waits until the CustomResourceDefinitions applied in
// batch are established, fails those that are not, and refreshes discovery
// so that the next stages can map their kinds.
func (m *Manager) waitEstablished(ctx context.Context, batch []*item) {
	var crds []*item
	for _, it := range batch {
		if it.key.Kind == "CustomResourceDefinition" && (it.change.Action == Created || it.change.Action == Configured) {
			crds = append(crds, it)
		}
	}
	if len(crds) == 0 {
		return
	}
	for _, it := range crds {
		client := m.resource(it.mapping, "")
		err := poll(ctx, establishTimeout, func() (bool, error) {
			crd, err := client.Get(ctx, it.key.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return established(crd), nil
		})
		if err != nil {
			it.fail(fmt.Errorf("%s: not established within %s: %w", it.key, establishTimeout, err))
		}
	}
	m.resetMu.Lock()
	m.lastReset = time.Now()
	m.resetMu.Unlock()
	m.mapper.Reset()
}

func established(crd *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conditions {
		cond, _ := c.(map[string]any)
		if cond["type"] == "Established" && cond["status"] == "True" {
			return true
		}
	}
	return false
}
