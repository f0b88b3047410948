package main

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Change is one out-of-band change to a managed object.
type Change struct {
	// What kind of change it is, as the report names it.
	What string
	Key  render.Key
	// write makes the change, with field managers as kubectl's.
	write func(ctx context.Context, client dynamic.ResourceInterface, name string) error
}

// Make makes the change; it returns when the API server answered.
func (c Change) Make(ctx context.Context, client dynamic.Interface) error {
	res := client.Resource(objects.Resources[c.Key.Kind])
	var ri dynamic.ResourceInterface = res
	if c.Key.Namespace != "" {
		ri = res.Namespace(c.Key.Namespace)
	}
	if err := c.write(ctx, ri, c.Key.Name); err != nil {
		return fmt.Errorf("%s %s: %w", c.What, c.Key, err)
	}
	return nil
}

// changeKind is a kind of change and the kind of object it is made to.
type changeKind struct {
	what  string
	kind  string
	write func(ctx context.Context, client dynamic.ResourceInterface, name string) error
}

// changeKinds are the changes the latency measurement makes, in turn: the
// edits people make by hand, a scale, a delete, and taking an object out
// of gitopsd's hands.
var changeKinds = []changeKind{
	{"edit ConfigMap data", "ConfigMap", mergePatch("kubectl-edit", `{"data":{"app.properties":"edited=by hand\n"}}`)},
	{"edit Secret data", "Secret", mergePatch("kubectl-edit", `{"data":{"password":"`+base64.StdEncoding.EncodeToString([]byte("changed"))+`"}}`)},
	{"scale Deployment", "Deployment", scale("kubectl-scale", 3)},
	{"delete Service", "Service", remove},
	{"remove installation label of RoleBinding", "RoleBinding", mergePatch("kubectl-label", `{"metadata":{"labels":{"`+apply.LabelInstallation+`":null}}}`)},
}

func mergePatch(manager, patch string) func(context.Context, dynamic.ResourceInterface, string) error {
	return func(ctx context.Context, client dynamic.ResourceInterface, name string) error {
		_, err := client.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: manager})
		return err
	}
}

func scale(manager string, replicas int) func(context.Context, dynamic.ResourceInterface, string) error {
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	return func(ctx context.Context, client dynamic.ResourceInterface, name string) error {
		_, err := client.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: manager}, "scale")
		return err
	}
}

func remove(ctx context.Context, client dynamic.ResourceInterface, name string) error {
	return client.Delete(ctx, name, metav1.DeleteOptions{})
}

// PlanChanges returns n changes to distinct objects of set, taking the
// kinds of change in turn and spreading each kind's objects across the
// set's namespaces. The objects syncChanges uses are left out.
func PlanChanges(set *objects.Set, n int) ([]Change, error) {
	reserved := map[render.Key]bool{}
	for _, c := range syncChanges(set) {
		reserved[c.Key] = true
	}
	candidates := map[string][]render.Key{}
	for _, o := range set.Objects {
		if key := render.KeyOf(o); !reserved[key] {
			candidates[key.Kind] = append(candidates[key.Kind], key)
		}
	}
	changes := make([]Change, 0, n)
	for i := range n {
		k := changeKinds[i%len(changeKinds)]
		// This kind's j-th of its count changes picks evenly from its
		// candidates.
		j := i / len(changeKinds)
		count := (n - i%len(changeKinds) + len(changeKinds) - 1) / len(changeKinds)
		keys := candidates[k.kind]
		if len(keys) < count {
			return nil, fmt.Errorf("%d changes need %d %ss; the set has %d to change", n, count, k.kind, len(keys))
		}
		changes = append(changes, Change{What: k.what, Key: keys[j*len(keys)/count], write: k.write})
	}
	return changes, nil
}

// syncChanges changes the last object of each kind in set: its set label,
// a field gitopsd applied, is overwritten by hand. One report per kind
// shows that the kind's watch delivers events.
func syncChanges(set *objects.Set) []Change {
	last := map[string]render.Key{}
	var kinds []string
	for _, o := range set.Objects {
		key := render.KeyOf(o)
		if _, ok := last[key.Kind]; !ok {
			kinds = append(kinds, key.Kind)
		}
		last[key.Kind] = key
	}
	relabel := mergePatch("kubectl-label", `{"metadata":{"labels":{"`+objects.LabelSet+`":"relabelled"}}}`)
	changes := make([]Change, len(kinds))
	for i, kind := range kinds {
		changes[i] = Change{What: "relabel " + kind, Key: last[kind], write: relabel}
	}
	return changes
}
