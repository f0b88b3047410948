package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/render"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// Wait waits until every object cs wrote is Current by kstatus rules. It
// returns at once with a *NotReadyError when one is Failed, and with the
// objects still not ready when timeout passes or ctx ends.
func (m *Manager) Wait(ctx context.Context, cs *ChangeSet, timeout time.Duration) error {
	if cs.DryRun {
		return nil
	}
	pending := map[render.Key]Change{}
	for _, c := range cs.Written() {
		pending[c.Key] = c
	}
	var last []NotReady
	err := poll(ctx, timeout, func() (bool, error) {
		last = last[:0]
		for key, c := range pending {
			res, err := m.health(ctx, c)
			if err != nil {
				return false, err
			}
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
	case errors.Is(err, context.DeadlineExceeded):
		slices.SortFunc(last, func(a, b NotReady) int { return strings.Compare(a.Key.String(), b.Key.String()) })
		return &NotReadyError{Objects: last}
	default:
		return err
	}
}

// health reads one object and computes its kstatus.
func (m *Manager) health(ctx context.Context, c Change) (*status.Result, error) {
	mapping, err := m.mapping(schema.GroupVersionKind{Group: c.Key.Group, Version: c.Version, Kind: c.Key.Kind})
	if err != nil {
		return nil, err
	}
	obj, err := m.resource(mapping, c.Key.Namespace).Get(ctx, c.Key.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &status.Result{Status: status.NotFoundStatus, Message: "not found"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Key, err)
	}
	return status.Compute(obj)
}
