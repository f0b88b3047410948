package reconcile

import (
	"context"
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
	uids      UIDs
}

// UIDs tells the UID of an installation's inventory ConfigMap, empty when
// unknown; WatchedInventories implements it.
type UIDs interface {
	UID(installation string) types.UID
}

var (
	_ Events = (*KubeEvents)(nil)
	_ UIDs   = (*WatchedInventories)(nil)
)

// NewKubeEvents starts an event broadcaster writing to client; stop it with
// the returned function. instance, when set, names the replica writing
// (its Pod), so that an Event tells which of two replicas acted; uids, when
// set, spares a read of the inventory per event.
func NewKubeEvents(client kubernetes.Interface, namespace, instance string, uids UIDs) (*KubeEvents, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "gitopsd", Host: instance})
	return &KubeEvents{recorder: recorder, client: client, namespace: namespace, uids: uids}, b.Shutdown
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

// uid is the inventory's UID, with which kubectl describe of the inventory
// lists the event. It is never kept: an inventory deleted and created
// again has a new one.
func (k *KubeEvents) uid(installation, name string) types.UID {
	if k.uids != nil {
		if uid := k.uids.UID(installation); uid != "" {
			return uid
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cm, err := k.client.CoreV1().ConfigMaps(k.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return cm.UID
}
