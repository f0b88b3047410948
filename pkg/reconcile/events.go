package reconcile

import (
	"context"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

	mu   sync.Mutex
	uids map[string]types.UID // inventory ConfigMap UIDs by installation
}

var _ Events = (*KubeEvents)(nil)

// NewKubeEvents starts an event broadcaster writing to client; stop it with
// the returned function.
func NewKubeEvents(client kubernetes.Interface, namespace string) (*KubeEvents, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "gitopsd"})
	return &KubeEvents{recorder: recorder, client: client, namespace: namespace, uids: map[string]types.UID{}}, b.Shutdown
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
	ref.UID = k.uid(installation, ref.Name)
	k.recorder.Event(ref, eventType, reason, message)
}

// uid looks the inventory's UID up once: with it, kubectl describe of the
// inventory lists the event.
func (k *KubeEvents) uid(installation, name string) types.UID {
	k.mu.Lock()
	defer k.mu.Unlock()
	if uid, ok := k.uids[installation]; ok {
		return uid
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cm, err := k.client.CoreV1().ConfigMaps(k.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	k.uids[installation] = cm.UID
	return cm.UID
}
