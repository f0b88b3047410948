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
// ready when timeout passes. Each look costs one request per kind (per
// page of healthPage objects); looks start 250ms apart and space out to
// healthPollMax while objects stay pending.
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
	err := pollBackoff(ctx, timeout, func() (bool, error) {
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

// healthPollMax is the longest pause between two looks of a health wait.
// Objects that take long to become healthy (a rollout) are looked at less
// often: every look lists and decodes whole kinds, and ten installations
// waiting at once would decode thousands of objects a second.
const healthPollMax = 2 * time.Second

// pollBackoff calls done at once, then after 250ms, doubling the pause up
// to healthPollMax, until it returns true or an error, or timeout.
func pollBackoff(ctx context.Context, timeout time.Duration, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pause := 250 * time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		ok, err := done()
		if ok || err != nil {
			return err
		}
		timer.Reset(pause)
		pause = min(2*pause, healthPollMax)
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
			live, err := m.kindHealth(ctx, installation, gk, changes[0].Version)
			for _, c := range changes {
				switch res := live[c.Key]; {
				case err != nil:
					set(c.Key, &status.Result{Status: status.UnknownStatus, Message: err.Error()})
				case res == nil:
					set(c.Key, &status.Result{Status: status.NotFoundStatus, Message: "not found"})
				default:
					set(c.Key, res)
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// healthPage bounds the objects one list request of the health check
// returns, and so the objects decoded at once.
const healthPage = 250

// statusless are kinds whose API has no status: kstatus finds them
// Current unless they are being deleted, which their metadata says, so
// their health is read from metadata alone, much smaller than the objects.
var statusless = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}:      true,
	{Kind: "Secret"}:         true,
	{Kind: "ServiceAccount"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               true,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: true,
}

// kindHealth computes the kstatus of the installation's objects of one
// kind, listed a page at a time, so that only a page of objects is held.
func (m *Manager) kindHealth(ctx context.Context, installation string, gk schema.GroupKind, version string) (map[render.Key]*status.Result, error) {
	mapping, err := m.mapping(gk.WithVersion(version))
	if err != nil {
		return nil, err
	}
	out := map[render.Key]*status.Result{}
	add := func(u *unstructured.Unstructured) {
		res, err := status.Compute(u)
		if err != nil {
			res = &status.Result{Status: status.UnknownStatus, Message: err.Error()}
		}
		out[render.Key{Group: gk.Group, Kind: gk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}] = res
	}
	opts := metav1.ListOptions{LabelSelector: LabelInstallation + "=" + installation, Limit: healthPage}
	for {
		var next string
		if statusless[gk] {
			list, err := m.metadata.Resource(mapping.Resource).List(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", mapping.Resource.GroupResource(), err)
			}
			for i := range list.Items {
				add(metadataObject(mapping.GroupVersionKind, &list.Items[i]))
			}
			next = list.Continue
		} else {
			list, err := m.dynamic.Resource(mapping.Resource).List(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", mapping.Resource.GroupResource(), err)
			}
			for i := range list.Items {
				add(&list.Items[i])
			}
			next = list.GetContinue()
		}
		if next == "" {
			return out, nil
		}
		opts.Continue = next
	}
}

// metadataObject is what kstatus reads of an object of a statusless kind.
func metadataObject(gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(m.Namespace)
	u.SetName(m.Name)
	u.SetGeneration(m.Generation)
	u.SetDeletionTimestamp(m.DeletionTimestamp)
	return u
}
