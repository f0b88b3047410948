package apply

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// UnknownKindError says that the cluster serves no such kind.
type UnknownKindError struct {
	GVK schema.GroupVersionKind
}

func (e *UnknownKindError) Error() string {
	gv := e.GVK.GroupVersion().String()
	return fmt.Sprintf("the cluster does not serve kind %s in %s; is its CustomResourceDefinition installed, or the apiVersion misspelt?", e.GVK.Kind, gv)
}

// ImmutableError says that a change touches a field the API server does not
// let change.
type ImmutableError struct {
	Key render.Key
	Err error
}

func (e *ImmutableError) Error() string {
	return fmt.Sprintf("%s: the change touches an immutable field (%v); to let gitopsd delete and recreate the object, annotate it with %s: \"true\"",
		e.Key, e.Err, AnnotationRecreate)
}

func (e *ImmutableError) Unwrap() error { return e.Err }

// IsImmutable reports whether err is an *ImmutableError.
func IsImmutable(err error) bool {
	var ie *ImmutableError
	return errors.As(err, &ie)
}

// EmptyRenderError refuses to prune every object of an installation because
// its render came back empty.
type EmptyRenderError struct {
	Installation string
	Owned        int
}

func (e *EmptyRenderError) Error() string {
	return fmt.Sprintf("installation %s rendered no objects, which would prune all %d it owns; refusing. To delete them, remove the installation from gitopsd.yaml, or run gitopsd apply --allow-empty", e.Installation, e.Owned)
}

// OwnershipError refuses to apply an installation whose inventory another
// source owns: two daemons sharing an installation name would prune each
// other's objects.
type OwnershipError struct {
	Installation, Owner, Source string
}

func (e *OwnershipError) Error() string {
	return fmt.Sprintf("installation %s belongs to the gitopsd following %s, not %s; two sources must not share an installation name: rename one in gitopsd.yaml, or delete the inventory ConfigMap inventory-%s to hand it over",
		e.Installation, e.Owner, e.Source, e.Installation)
}

// ownedBy refuses req when the inventory prev records another source as
// the installation's owner; a request without a source claims nothing.
func ownedBy(req Request, prev *inventory.Inventory) error {
	if req.Source != "" && prev.Source != "" && !source.SameIdentity(prev.Source, req.Source) {
		return &OwnershipError{Installation: req.Installation, Owner: prev.Source, Source: req.Source}
	}
	return nil
}

// immutable reports whether the API server refused err's change because it
// touches an immutable field.
func immutable(err error) bool {
	if !apierrors.IsInvalid(err) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"field is immutable", "is immutable", "may not change once set", "cannot change roleRef"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
