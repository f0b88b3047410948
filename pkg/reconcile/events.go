package reconcile

import (
	"context"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Events records what happened to an installation.
type Events interface {
	Event(installation, eventType, reason, message string)
}

// KubeEvents records Kubernetes Events on each installation's inventory
// ConfigMap, where `kubectl describe` shows them.
type KubeEvents struct {
	recorder  record.EventRecorder
	client    kubernetes.Interface
	namespace string
}

var _ Events = (*KubeEvents)(nil)

// NewKubeEvents starts an event broadcaster writing to client; stop it with
// the returned function.
func NewKubeEvents(client kubernetes.Interface, namespace string) (*KubeEvents, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "gitopsd"})
	return &KubeEvents{recorder: recorder, client: client, namespace: namespace}, b.Shutdown
}

// ObjectEvent records an event on any object, such as a drifted one.
func (k *KubeEvents) ObjectEvent(ref corev1.ObjectReference, eventType, reason, message string) {
	k.recorder.Event(&ref, eventType, reason, message)
}

func (k *KubeEvents) Event(installation, eventType, reason, message string) {
	ref := &corev1.ObjectReference{
		APIVersion: "v1", Kind: "ConfigMap",
		Namespace: k.namespace, Name: inventory.Name(installation),
	}
	// With the UID, kubectl describe of the inventory lists the event.
	if cm, err := k.client.CoreV1().ConfigMaps(k.namespace).Get(context.Background(), ref.Name, metav1.GetOptions{}); err == nil {
		ref.UID, ref.ResourceVersion = cm.UID, cm.ResourceVersion
	}
	k.recorder.Event(ref, eventType, reason, message)
}
