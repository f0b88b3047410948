package apply

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Apply makes the cluster hold req's objects and, with opts.Prune, no longer
// hold those that left Git; it records what the installation owns in its
// inventory. Per-object failures are in the ChangeSet (see ChangeSet.Err);
// the error is for failures of the whole apply, such as an unreadable
// inventory or an empty render that would prune everything.
func (m *Manager) Apply(ctx context.Context, req Request, opts Options) (*ChangeSet, error) {
	start := time.Now()
	opts = opts.withDefaults()
	req.Source = source.NormalizeIdentity(req.Source)
	p, err := m.plan(ctx, req, opts)
	if err != nil {
		return nil, err
	}
	prev, items, live := p.prev, p.items, p.live
	if err := ownedBy(req, prev); err != nil {
		return nil, err
	}
	if len(req.Objects.Objects) == 0 && len(prev.Entries) > 0 && opts.Prune && !opts.AllowEmpty {
		return nil, &EmptyRenderError{Installation: req.Installation, Owned: len(prev.Entries)}
	}
	decide(items, prev.Index(), live, opts)
	if err := m.refuseClaimed(ctx, req, items, live, opts.Concurrency); err != nil {
		return nil, err
	}

	if !opts.DryRun {
		if err := m.savePending(ctx, prev, items, req.Source); err != nil {
			return nil, err
		}
	}
	for _, stage := range render.Stages {
		if err := m.applyStage(ctx, stage, items, opts); err != nil {
			return nil, err
		}
	}
	cs := &ChangeSet{Installation: req.Installation, Commit: req.Commit, DryRun: opts.DryRun}
	for _, it := range items {
		cs.Changes = append(cs.Changes, it.change)
	}
	kept, gone := keepListed(stale(prev, items), opts.Keep)
	for _, e := range kept {
		cs.Changes = append(cs.Changes, Change{Key: e.Key(), Version: e.Version, Action: Skipped, Reason: opts.Keep[e.Key()]})
	}
	if opts.Prune {
		pruned, failed := m.prune(ctx, req.Installation, gone, live, opts)
		cs.Changes = append(cs.Changes, pruned...)
		kept = append(kept, failed...)
	} else {
		kept = append(kept, gone...)
	}
	cs.Duration = time.Since(start)
	for _, c := range cs.Changes {
		if c.Action != Unchanged {
			m.log.Debug("object", logkey.Installation, req.Installation, logkey.Object, c.Key.String(), logkey.Action, c.Action, logkey.Reason, c.Reason)
		}
	}
	if opts.DryRun {
		return cs, nil
	}
	cs.Owned, err = m.saveFinal(ctx, prev, items, kept, req, opts.Prune, cs.Err() == nil)
	return cs, err
}

// keepListed splits stale entries into those keep lists, which stay, and
// the rest.
func keepListed(entries []inventory.Entry, keep map[render.Key]string) (kept, rest []inventory.Entry) {
	for _, e := range entries {
		if _, ok := keep[e.Key()]; ok {
			kept = append(kept, e)
		} else {
			rest = append(rest, e)
		}
	}
	return kept, rest
}

// applyStage applies the stage's undecided items concurrently. Objects whose
// kind a CustomResourceDefinition of this run defines are mapped now, since
// the stage before made the kind known.
func (m *Manager) applyStage(ctx context.Context, stage render.Stage, items []*item, opts Options) error {
	failedCRDs := failedDefinitions(items)
	var batch []*item
	for _, it := range items {
		if it.stage != stage || it.decided() {
			continue
		}
		if it.mapping == nil {
			if crd, failed := failedCRDs[it.gvk.GroupKind()]; failed {
				it.skip(fmt.Sprintf("its CustomResourceDefinition %s failed", crd))
				continue
			}
			mapping, err := m.mapping(it.gvk)
			if opts.DryRun && err != nil {
				it.skip("its CustomResourceDefinition is created by this apply")
				continue
			}
			if err != nil {
				it.fail(fmt.Errorf("%s: %w", it.key, err))
				continue
			}
			it.mapping = mapping
		}
		batch = append(batch, it)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, it := range batch {
		g.Go(func() error {
			m.applyItem(gctx, it, opts)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if stage == render.StageDefinitions && !opts.DryRun {
		m.waitEstablished(ctx, batch)
	}
	return nil
}

// failedDefinitions maps the kinds of CustomResourceDefinitions that failed
// to the CRD's name.
func failedDefinitions(items []*item) map[schema.GroupKind]string {
	failed := map[schema.GroupKind]string{}
	for _, it := range items {
		if it.key.Kind == "CustomResourceDefinition" && (it.change.Action == Failed || it.change.Action == Skipped) {
			group, _, _ := unstructured.NestedString(it.src.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(it.src.Object, "spec", "names", "kind")
			failed[schema.GroupKind{Group: group, Kind: kind}] = it.key.Name
		}
	}
	return failed
}

// applyItem sends one object with server-side apply and records the outcome.
func (m *Manager) applyItem(ctx context.Context, it *item, opts Options) {
	start := time.Now()
	client := m.resource(it.mapping, it.key.Namespace)
	if it.live != nil && !opts.DryRun {
		if err := m.takeOver(ctx, it); err != nil {
			it.fail(err)
			return
		}
	}
	data, err := json.Marshal(it.object().Object)
	it.obj = nil // sent: an apply would hold a copy of every object until its end
	if err != nil {
		it.fail(fmt.Errorf("%s: %w", it.key, err))
		return
	}
	patchOpts := metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)}
	if opts.DryRun {
		patchOpts.DryRun = []string{metav1.DryRunAll}
	}
	reason := ""
	applied, err := client.Patch(ctx, it.key.Name, types.ApplyPatchType, data, patchOpts)
	if immutable(err) && it.src.GetAnnotations()[AnnotationRecreate] == "true" && !opts.DryRun {
		reason = "recreated: the change touches an immutable field"
		applied, err = m.recreate(ctx, it, data, patchOpts)
	}
	if opts.DryRun && it.namespaceInSet && namespaceMissing(err, it.key.Namespace) {
		it.change = Change{Key: it.key, Version: it.gvk.Version, Action: Created, Reason: "its namespace is created by this apply"}
		return
	}
	switch {
	case immutable(err):
		it.fail(&ImmutableError{Key: it.key, Err: err})
		return
	case err != nil:
		it.fail(fmt.Errorf("apply %s: %w", it.key, err))
		return
	}
	action := Configured
	switch {
	case it.takenFrom != "":
		reason = cmp.Or(reason, "taken over from installation "+it.takenFrom)
	case it.live == nil && !applied.GetCreationTimestamp().Time.Before(start.Add(-time.Second)):
		action = Created
	case it.live != nil && applied.GetResourceVersion() == it.live.ResourceVersion && reason == "":
		action = Unchanged
	}
	if opts.DryRun && it.live == nil && it.takenFrom == "" {
		action = Created
	}
	it.change = Change{Key: it.key, Version: it.gvk.Version, Action: action, Reason: reason}
	gvk := it.gvk
	it.entry = inventory.Entry{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: it.key.Namespace, Name: it.key.Name,
		Digest: it.digest, Fields: FieldsHash(applied, it.ignored()),
	}
}

// takeOver hands gitopsd the fields of kubectl's managers (see
// takeOverManagers) and lets go of ignored fields gitopsd owns. The object
// is read afresh, with its content to tell ignored fields, and the patch is
// conditional on it, so that another manager's write since the plan is
// never overwritten; when one comes in between, the take-over starts again
// from a new read, a few times. A failure is returned with its cause.
func (m *Manager) takeOver(ctx context.Context, it *item) error {
	ignored := it.ignored()
	if !mayTakeOver(it.live, ignored) {
		return nil // nothing to take over: no extra read
	}
	client := m.resource(it.mapping, it.key.Namespace)
	var (
		failed   error
		failedAt string // the resource version the failed patch was conditional on
	)
	for attempt := 0; ; attempt++ {
		fresh, err := client.Get(ctx, it.key.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("take over fields of %s: %w", it.key, err)
		case failed != nil && fresh.GetResourceVersion() == failedAt:
			// Nobody wrote in between: the API server refused the patch.
			return fmt.Errorf("take over fields of %s from %s: %w", it.key, strings.Join(kubectlManagers(fresh), ", "), failed)
		case attempt == takeOverAttempts:
			return fmt.Errorf("take over fields of %s from %s: another writer changed the object during each of %d attempts: %w",
				it.key, strings.Join(kubectlManagers(fresh), ", "), attempt, failed)
		}
		patch, err := takeOverPatch(fresh, fresh.Object, ignored, fresh.GetResourceVersion())
		if err != nil {
			return fmt.Errorf("take over fields of %s: %w", it.key, err)
		}
		if patch == nil {
			return nil
		}
		_, err = client.Patch(ctx, it.key.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		failed, failedAt = err, fresh.GetResourceVersion()
	}
}

// takeOverAttempts bounds the take-overs started again because another
// writer changed the object in between.
const takeOverAttempts = 3

// recreate deletes the live object, waits until it is gone, and applies it
// anew.
func (m *Manager) recreate(ctx context.Context, it *item, data []byte, patchOpts metav1.PatchOptions) (*unstructured.Unstructured, error) {
	client := m.resource(it.mapping, it.key.Namespace)
	del := metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}
	if it.live != nil {
		del.Preconditions = &metav1.Preconditions{UID: ptr.To(it.live.UID)}
	}
	if err := client.Delete(ctx, it.key.Name, del); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("delete to recreate: %w", err)
	}
	err := poll(ctx, 30*time.Second, func() (bool, error) {
		_, err := client.Get(ctx, it.key.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, fmt.Errorf("wait for deletion to recreate: %w", err)
	}
	return client.Patch(ctx, it.key.Name, types.ApplyPatchType, data, patchOpts)
}

// namespaceMissing reports whether err says that namespace does not exist.
func namespaceMissing(err error, namespace string) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	d := status.Status().Details
	return d.Kind == "namespaces" && d.Name == namespace
}

// apiMessage is the API server's message without client-go's wrapping.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}

// poll calls done every 250ms until it returns true or an error, or timeout.
func poll(ctx context.Context, timeout time.Duration, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
