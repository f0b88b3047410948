package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/render"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// NotReady is an object that did not become healthy.
type NotReady struct {
	Key     render.Key
	Status  status.Status
	Message string
}

// NotReadyError lists the objects that were not healthy when the wait ended.
type NotReadyError struct {
	Objects []NotReady
	// Failed is true when an object failed, false when time ran out.
	Failed bool
}

func (e *NotReadyError) Error() string {
	parts := make([]string, len(e.Objects))
	for i, o := range e.Objects {
		parts[i] = fmt.Sprintf("%s is %s: %s", o.Key, o.Status, o.Message)
	}
	what := "not ready in time"
	if e.Failed {
		what = "failed"
	}
	return fmt.Sprintf("%d object(s) %s: %s", len(e.Objects), what, strings.Join(parts, "; "))
}

// Wait waits until every object of cs that is in the cluster (created,
// configured or unchanged) is Current by kstatus rules, so that an object
// left unhealthy by an earlier apply is not forgotten. It returns at once
// with a *NotReadyError when one is Failed, and with the objects still not
// ready when timeout passes. Each look costs one request per kind.
func (m *Manager) Wait(ctx context.Context, cs *ChangeSet, timeout time.Duration) error {
	if cs.DryRun {
		return nil
	}
	pending := map[render.Key]Change{}
	for _, c := range cs.Changes {
		if c.Action == Created || c.Action == Configured || c.Action == Unchanged {
			pending[c.Key] = c
		}
	}
	var last []NotReady
	err := poll(ctx, timeout, func() (bool, error) {
		results := m.health(ctx, cs.Installation, pending)
		last = last[:0]
		for key, res := range results {
			switch res.Status {
			case status.CurrentStatus:
				delete(pending, key)
			case status.FailedStatus:
				return false, &NotReadyError{Objects: []NotReady{{Key: key, Status: res.Status, Message: res.Message}}, Failed: true}
			default:
				last = append(last, NotReady{Key: key, Status: res.Status, Message: res.Message})
			}
		}
		return len(pending) == 0, nil
	})
	var notReady *NotReadyError
	switch {
	case err == nil, errors.As(err, &notReady):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		slices.SortFunc(last, func(a, b NotReady) int { return strings.Compare(a.Key.String(), b.Key.String()) })
		return &NotReadyError{Objects: last}
	}
}

// health computes the kstatus of the pending objects, listing each kind
// once. An object that cannot be read this time is Unknown, with the
// reason, and looked at again at the next poll.
func (m *Manager) health(ctx context.Context, installation string, pending map[render.Key]Change) map[render.Key]*status.Result {
	byKind := map[schema.GroupKind][]Change{}
	for _, c := range pending {
		gk := schema.GroupKind{Group: c.Key.Group, Kind: c.Key.Kind}
		byKind[gk] = append(byKind[gk], c)
	}
	var mu sync.Mutex
	results := make(map[render.Key]*status.Result, len(pending))
	set := func(key render.Key, res *status.Result) {
		mu.Lock()
		defer mu.Unlock()
		results[key] = res
	}
	var g errgroup.Group
	g.SetLimit(8)
	for gk, changes := range byKind {
		g.Go(func() error {
			live, err := m.listHealth(ctx, installation, gk, changes[0].Version)
			for _, c := range changes {
				switch obj := live[c.Key]; {
				case err != nil:
					set(c.Key, &status.Result{Status: status.UnknownStatus, Message: err.Error()})
				case obj == nil:
					set(c.Key, &status.Result{Status: status.NotFoundStatus, Message: "not found"})
				default:
					res, err := status.Compute(obj)
					if err != nil {
						res = &status.Result{Status: status.UnknownStatus, Message: err.Error()}
					}
					set(c.Key, res)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// listHealth lists the installation's objects of one kind.
func (m *Manager) listHealth(ctx context.Context, installation string, gk schema.GroupKind, version string) (map[render.Key]*unstructured.Unstructured, error) {
	mapping, err := m.mapping(gk.WithVersion(version))
	if err != nil {
		return nil, err
	}
	list, err := m.dynamic.Resource(mapping.Resource).List(ctx, metav1.ListOptions{LabelSelector: LabelInstallation + "=" + installation})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", mapping.Resource.GroupResource(), err)
	}
	out := make(map[render.Key]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		obj := &list.Items[i]
		out[render.Key{Group: gk.Group, Kind: gk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}] = obj
	}
	return out, nil
}
