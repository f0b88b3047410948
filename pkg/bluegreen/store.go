package bluegreen

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LabelState names the installation of a cutover state ConfigMap.
const LabelState = "gitopsd.io/cutover-state"

const stateKey = "state.json"

// Store keeps each blue/green installation's State in a ConfigMap of one
// namespace (the inventories'), written in one request with optimistic
// concurrency, so that two replicas never overwrite each other unnoticed.
type Store struct {
	client    kubernetes.Interface
	namespace string
}

// NewStore returns a Store keeping states in namespace.
func NewStore(client kubernetes.Interface, namespace string) *Store {
	return &Store{client: client, namespace: namespace}
}

// StateName is the name of the ConfigMap holding installation's state.
func StateName(installation string) string { return "cutover-" + installation }

// Load reads installation's state; one never saved is empty.
func (s *Store) Load(ctx context.Context, installation string) (*State, error) {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, StateName(installation), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load cutover state of %s: %w", installation, err)
	}
	var st State
	if err := json.Unmarshal([]byte(cm.Data[stateKey]), &st); err != nil {
		return nil, fmt.Errorf("load cutover state of %s from ConfigMap %s/%s: %w", installation, s.namespace, cm.Name, err)
	}
	st.resourceVersion = cm.ResourceVersion
	return &st, nil
}

// Save writes st; it fails with a conflict when the stored state changed
// since st was loaded.
func (s *Store) Save(ctx context.Context, installation string, st *State) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("save cutover state of %s: %w", installation, err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: StateName(installation), Namespace: s.namespace,
			Labels:          map[string]string{LabelState: installation},
			ResourceVersion: st.resourceVersion,
		},
		Data: map[string]string{stateKey: string(data), "live": string(st.Live)},
	}
	client := s.client.CoreV1().ConfigMaps(s.namespace)
	var saved *corev1.ConfigMap
	if st.resourceVersion == "" {
		saved, err = s.create(ctx, cm)
	} else {
		saved, err = client.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "gitopsd"})
	}
	if err != nil {
		return fmt.Errorf("save cutover state of %s: %w", installation, err)
	}
	st.resourceVersion = saved.ResourceVersion
	return nil
}

// create creates cm, and the namespace when it is missing.
func (s *Store) create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	client := s.client.CoreV1().ConfigMaps(s.namespace)
	saved, err := client.Create(ctx, cm, metav1.CreateOptions{FieldManager: "gitopsd"})
	if !apierrors.IsNotFound(err) {
		return saved, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "gitopsd"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", s.namespace, err)
	}
	return client.Create(ctx, cm, metav1.CreateOptions{FieldManager: "gitopsd"})
}

// Delete removes installation's state; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, installation string) error {
	err := s.client.CoreV1().ConfigMaps(s.namespace).Delete(ctx, StateName(installation), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete cutover state of %s: %w", installation, err)
	}
	return nil
}
