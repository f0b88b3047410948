package render

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// PackedSet is an ObjectSet kept compact: each object as its JSON, with
// its key, digest and source. A decoded object, a tree of maps, takes
// several times the memory of its JSON, so what is kept between uses (the
// render cache, the intent drift compares with) is kept packed and decoded
// when it is used. It is immutable and safe for concurrent use.
type PackedSet struct {
	digest  string
	objects []packedObject
}

type packedObject struct {
	key    Key // as rendered: a namespaced object's namespace may be empty
	json   []byte
	digest string
	source string
}

// Pack returns the set packed. A set that Unpack returned packs to the
// same PackedSet at no cost, which is why sets must not be modified.
func (s *ObjectSet) Pack() (*PackedSet, error) {
	if s.packed != nil {
		return s.packed, nil
	}
	p := &PackedSet{digest: s.Digest, objects: make([]packedObject, len(s.Objects))}
	// Groups, kinds, namespaces and sources repeat from object to object;
	// one copy of each serves them all.
	names := map[string]string{}
	intern := func(s string) string {
		if v, ok := names[s]; ok {
			return v
		}
		names[s] = s
		return s
	}
	for i, o := range s.Objects {
		data, err := json.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", o.Key(), err)
		}
		k := o.Key()
		p.objects[i] = packedObject{
			key:  Key{Group: intern(k.Group), Kind: intern(k.Kind), Namespace: intern(k.Namespace), Name: k.Name},
			json: data, digest: o.Digest, source: intern(o.Source),
		}
	}
	return p, nil
}

// Digest is the digest of the set.
func (p *PackedSet) Digest() string { return p.digest }

// Len is the number of objects.
func (p *PackedSet) Len() int { return len(p.objects) }

// Unpack decodes the set. Numbers decode as Kubernetes decodes JSON: int64
// when whole, float64 otherwise.
func (p *PackedSet) Unpack() (*ObjectSet, error) {
	objs, err := p.decode(func(Key) bool { return true }, len(p.objects))
	if err != nil {
		return nil, err
	}
	return &ObjectSet{Objects: objs, Digest: p.digest, packed: p}, nil
}

// Select decodes, in order, the objects whose key (as rendered: without
// the namespace an apply defaults) keep accepts. The result is a set of
// its own: its Digest is empty and it packs anew.
func (p *PackedSet) Select(keep func(Key) bool) (*ObjectSet, error) {
	objs, err := p.decode(keep, 0)
	if err != nil {
		return nil, err
	}
	return &ObjectSet{Objects: objs}, nil
}

func (p *PackedSet) decode(keep func(Key) bool, n int) ([]Object, error) {
	objs := make([]Object, 0, n)
	for _, o := range p.objects {
		if !keep(o.key) {
			continue
		}
		var m map[string]any
		if err := utiljson.Unmarshal(o.json, &m); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", o.key, err)
		}
		objs = append(objs, Object{Unstructured: &unstructured.Unstructured{Object: m}, Digest: o.digest, Source: o.source})
	}
	return objs, nil
}
