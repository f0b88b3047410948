package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Key identifies an object in a cluster. The version is left out: one object
// can be read at several versions.
type Key struct {
	Group, Kind, Namespace, Name string
}

// KeyOf returns the key of u.
func KeyOf(u *unstructured.Unstructured) Key {
	gvk := u.GroupVersionKind()
	return Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// String formats the key as Kind[.group]/[namespace/]name.
func (k Key) String() string {
	kind := k.Kind
	if k.Group != "" {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + "/" + k.Name
	}
	return kind + "/" + k.Namespace + "/" + k.Name
}

// Object is one rendered object.
type Object struct {
	*unstructured.Unstructured
	// Digest is the SHA-256 of the object's canonical JSON.
	Digest string
	// Source is the file the object came from, when known.
	Source string
}

// Key returns the object's key.
func (o Object) Key() Key { return KeyOf(o.Unstructured) }

// ObjectSet is an installation's rendered objects in apply order.
type ObjectSet struct {
	Objects []Object
	// Digest is the SHA-256 over the objects' digests in order.
	Digest string

	packed *PackedSet // what Unpack decoded the set from
}

// NewObjectSet digests, checks and sorts objs. Two objects with the same key
// are an error naming both sources.
func NewObjectSet(objs []Object) (*ObjectSet, error) {
	seen := make(map[Key]Object, len(objs))
	for i := range objs {
		o := &objs[i]
		if err := validate(o); err != nil {
			return nil, err
		}
		if first, dup := seen[o.Key()]; dup {
			return nil, &Error{Path: o.Source, Err: &duplicateError{first: first, second: *o}}
		}
		seen[o.Key()] = *o
		d, err := Digest(o.Unstructured)
		if err != nil {
			return nil, &Error{Path: o.Source, Err: fmt.Errorf("%s: %w", o.Key(), err)}
		}
		o.Digest = d
	}
	sort.SliceStable(objs, func(i, j int) bool { return less(objs[i], objs[j]) })
	h := sha256.New()
	for _, o := range objs {
		h.Write([]byte(o.Digest))
	}
	return &ObjectSet{Objects: objs, Digest: hex.EncodeToString(h.Sum(nil))}, nil
}

// Digest is the SHA-256 of u's JSON, whose map keys are sorted, so equal
// objects have equal digests.
func Digest(u *unstructured.Unstructured) (string, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func validate(o *Object) error {
	missing := ""
	switch {
	case o.GetAPIVersion() == "":
		missing = "apiVersion"
	case o.GetKind() == "":
		missing = "kind"
	case o.GetName() == "":
		missing = "metadata.name"
		if o.GetGenerateName() != "" {
			return &Error{Path: o.Source, Err: fmt.Errorf("%s %q uses metadata.generateName; give it a fixed metadata.name so that it can be updated and pruned", o.GetKind(), o.GetGenerateName())}
		}
	}
	if missing != "" {
		return &Error{Path: o.Source, Err: fmt.Errorf("an object has no %s", missing)}
	}
	return validateSecret(o)
}

// validateSecret requires a Secret's values to be strings. The API server
// would refuse others with a message that quotes the value; this error
// names only the key.
func validateSecret(o *Object) error {
	if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" {
		return nil
	}
	for _, field := range []string{"data", "stringData"} {
		values, ok := o.Object[field].(map[string]any)
		if o.Object[field] != nil && !ok {
			return &Error{Path: o.Source, Err: fmt.Errorf("%s: %s must be a mapping of keys to strings", KeyOf(o.Unstructured), field)}
		}
		for k, v := range values {
			if _, isString := v.(string); !isString {
				return &Error{Path: o.Source, Err: fmt.Errorf("%s: %s.%s must be a string; quote the value", KeyOf(o.Unstructured), field, k)}
			}
		}
	}
	return nil
}

// duplicateError is one object defined twice. The two may be at different
// versions (kustomize keeps both), but they are one object in a cluster.
type duplicateError struct{ first, second Object }

func (e *duplicateError) Error() string {
	a, b := e.first, e.second
	if a.GetAPIVersion() == b.GetAPIVersion() {
		return fmt.Sprintf("%s is defined twice: in %s and in %s", a.Key(), sourceName(a.Source), sourceName(b.Source))
	}
	return fmt.Sprintf("%s is defined twice, at two versions of one object: as %s in %s and as %s in %s",
		a.Key(), a.GetAPIVersion(), sourceName(a.Source), b.GetAPIVersion(), sourceName(b.Source))
}

func sourceName(s string) string {
	if s == "" {
		return "the kustomize output"
	}
	return s
}

// YAML returns the set as multi-document YAML, one document per object in
// apply order.
func (s *ObjectSet) YAML() ([]byte, error) {
	var b bytes.Buffer
	for _, o := range s.Objects {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Key(), err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes(), nil
}
