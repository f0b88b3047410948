package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// DefaultNamespace holds the inventories.
	DefaultNamespace = "gitopsd-system"
	// LabelInstallation names the installation of an inventory ConfigMap.
	LabelInstallation = "gitopsd.io/inventory"

	dataKey = "inventory.json.gz"
	// maxSize keeps the ConfigMap under the API server's 1 MiB object limit.
	maxSize = 900 << 10
)

// Store reads and writes inventories as ConfigMaps in one namespace.
type Store struct {
	client    kubernetes.Interface
	namespace string
}

// NewStore returns a Store keeping inventories in namespace.
func NewStore(client kubernetes.Interface, namespace string) *Store {
	return &Store{client: client, namespace: namespace}
}

// Name is the name of the ConfigMap holding installation's inventory.
func Name(installation string) string { return "inventory-" + installation }

// Load reads the inventory of installation; one never stored is empty.
func (s *Store) Load(ctx context.Context, installation string) (*Inventory, error) {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, Name(installation), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Inventory{Installation: installation}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load inventory of %s: %w", installation, err)
	}
	inv, err := decode(cm.BinaryData[dataKey])
	if err != nil {
		return nil, fmt.Errorf("load inventory of %s from ConfigMap %s/%s: %w", installation, s.namespace, cm.Name, err)
	}
	inv.Installation = installation
	inv.resourceVersion = cm.ResourceVersion
	return inv, nil
}

// Save writes inv in one request. It fails with a conflict when the stored
// inventory changed since inv was loaded, so two writers never overwrite
// each other unnoticed.
func (s *Store) Save(ctx context.Context, inv *Inventory) error {
	inv.Sort()
	data, err := encode(inv)
	if err != nil {
		return fmt.Errorf("save inventory of %s: %w", inv.Installation, err)
	}
	if len(data) > maxSize {
		return fmt.Errorf("save inventory of %s: %d objects take %d KiB compressed, more than a ConfigMap holds; split the installation",
			inv.Installation, len(inv.Entries), len(data)>>10)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:            Name(inv.Installation),
			Namespace:       s.namespace,
			Labels:          map[string]string{LabelInstallation: inv.Installation},
			ResourceVersion: inv.resourceVersion,
		},
		// Readable summaries for kubectl; the entries are in BinaryData.
		Data:       map[string]string{"commit": inv.Commit, "objects": strconv.Itoa(len(inv.Entries))},
		BinaryData: map[string][]byte{dataKey: data},
	}
	var saved *corev1.ConfigMap
	if inv.resourceVersion == "" {
		saved, err = s.create(ctx, cm)
	} else {
		saved, err = s.client.CoreV1().ConfigMaps(s.namespace).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "gitopsd"})
	}
	if err != nil {
		return fmt.Errorf("save inventory of %s: %w", inv.Installation, err)
	}
	inv.resourceVersion = saved.ResourceVersion
	return nil
}

// create creates cm, and the namespace when it is missing.
func (s *Store) create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	saved, err := s.client.CoreV1().ConfigMaps(s.namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: "gitopsd"})
	if !apierrors.IsNotFound(err) {
		return saved, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "gitopsd"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", s.namespace, err)
	}
	return s.client.CoreV1().ConfigMaps(s.namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: "gitopsd"})
}

// Delete removes installation's inventory; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, installation string) error {
	err := s.client.CoreV1().ConfigMaps(s.namespace).Delete(ctx, Name(installation), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete inventory of %s: %w", installation, err)
	}
	return nil
}

// List returns the installations that have an inventory.
func (s *Store) List(ctx context.Context) ([]string, error) {
	list, err := s.client.CoreV1().ConfigMaps(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelInstallation})
	if err != nil {
		return nil, fmt.Errorf("list inventories: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, cm := range list.Items {
		names = append(names, cm.Labels[LabelInstallation])
	}
	return names, nil
}

func encode(inv *Inventory) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(inv); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decode(data []byte) (*Inventory, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt inventory: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("corrupt inventory: %w", err)
	}
	var inv Inventory
	if err := json.Unmarshal(raw, &inv); err != nil {
		return nil, fmt.Errorf("corrupt inventory: %w", err)
	}
	return &inv, nil
}
