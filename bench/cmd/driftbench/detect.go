package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/render"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
)

// Detection is a set of objects applied by apply.Manager and tracked by a
// drift.Detector, wired as the daemon wires them: one Manager that applies
// and confirms drift, and a detector with a metadata client of its own.
// The policy is report-only, so that no correction writes while changes
// are timed; the detector then never asks for a reconcile.
type Detection struct {
	env *testenv.Env
	set *objects.Set
	// client makes the out-of-band changes, uncounted.
	client dynamic.Interface
	// watchRequests are the detector's: its lists and watches.
	watchRequests *testenv.Requests
	// checkRequests are the Manager's: the apply, then the drift checks.
	checkRequests *testenv.Requests
	manager       *apply.Manager
	detector      *drift.Detector
	// req and opts are the installation's last apply.
	req  apply.Request
	opts apply.Options
	stop func()

	mu      sync.Mutex
	reports map[render.Key]time.Time // when each object was first reported
	calls   int                      // reports of any object, repeated or not
	notify  chan struct{}            // buffered 1: a report came
}

// StartDetection applies set as one installation, tracks it, and returns
// once every watch of the detector delivers changes: one object of each
// kind is changed and its report awaited. Stop ends the detector.
func StartDetection(ctx context.Context, env *testenv.Env, set *objects.Set) (*Detection, error) {
	client, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	d := &Detection{env: env, set: set, client: client, reports: map[render.Key]time.Time{}, notify: make(chan struct{}, 1)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	checkCfg, checkRequests := testenv.CountRequests(env.Config)
	manager, err := apply.NewManager(checkCfg, inventory.NewStore(env.Client, inventory.DefaultNamespace), log)
	if err != nil {
		return nil, err
	}
	// The daemon gives the detector a metadata client of the same config,
	// with client-go's default rate limit.
	watchCfg, watchRequests := testenv.CountRequests(env.Config)
	meta, err := metadata.NewForConfig(watchCfg)
	if err != nil {
		return nil, err
	}
	d.watchRequests, d.checkRequests, d.manager = watchRequests, checkRequests, manager

	dopts := drift.DefaultOptions()
	dopts.OnReport = d.record
	if d.detector, err = drift.NewDetector(drift.Deps{Metadata: meta, Mapper: manager, Checker: manager, Log: log}, dopts); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = d.detector.Run(runCtx, nil); close(done) }()
	d.stop = func() { cancel(); <-done }

	var owned []inventory.Entry
	if d.req, d.opts, owned, err = applySet(ctx, manager, set); err != nil {
		d.Stop()
		return nil, err
	}
	d.track(owned)
	if err := d.sync(ctx); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// track tells the detector what the installation owns after an apply.
func (d *Detection) track(owned []inventory.Entry) {
	d.detector.Track(drift.Applied{Request: d.req, Options: d.opts, Owned: owned})
}

// applySet applies set as the installation named by its prefix, with the
// options of a report-only installation, and checks that all was created.
func applySet(ctx context.Context, manager *apply.Manager, set *objects.Set) (apply.Request, apply.Options, []inventory.Entry, error) {
	objs := make([]render.Object, len(set.Objects))
	for i, o := range set.Objects {
		objs[i] = render.Object{Unstructured: o.DeepCopy()}
	}
	objectSet, err := render.NewObjectSet(objs)
	if err != nil {
		return apply.Request{}, apply.Options{}, nil, err
	}
	req := apply.Request{Installation: set.Prefix, Commit: objectSet.Digest[:12], Objects: objectSet}
	opts := apply.DefaultOptions()
	opts.ReportDrift = true
	cs, err := manager.Apply(ctx, req, opts)
	if err != nil {
		return req, opts, nil, err
	}
	if err := cs.Err(); err != nil {
		return req, opts, nil, fmt.Errorf("apply: %s: %w", cs.Summary(), err)
	}
	if created := cs.Counts()[apply.Created]; created != len(set.Objects) {
		return req, opts, nil, fmt.Errorf("apply: %s; want %d created", cs.Summary(), len(set.Objects))
	}
	return req, opts, cs.Owned, nil
}

// sync changes one object of each kind, so that every watch has listed
// and delivers events once their reports are in.
func (d *Detection) sync(ctx context.Context) error {
	for _, c := range syncChanges(d.set) {
		if err := c.Make(ctx, d.client); err != nil {
			return err
		}
		if _, err := d.waitReport(ctx, c.Key, 2*time.Minute); err != nil {
			return fmt.Errorf("watches not synced: %w", err)
		}
	}
	return nil
}

// Stop ends the detector and its watches.
func (d *Detection) Stop() { d.stop() }

// record is the detector's OnReport hook: it notes the first report of
// each object. The detector holds its lock here, so it stays short.
func (d *Detection) record(_ string, r drift.Report) {
	now := time.Now()
	d.mu.Lock()
	d.calls++
	if _, ok := d.reports[r.Key]; !ok {
		d.reports[r.Key] = now
	}
	d.mu.Unlock()
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

func (d *Detection) reportedAt(key render.Key) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.reports[key]
	return at, ok
}

// waitReport waits until key is reported, or timeout passes, and returns
// when it was reported.
func (d *Detection) waitReport(ctx context.Context, key render.Key, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if at, ok := d.reportedAt(key); ok {
			return at, nil
		}
		select {
		case <-d.notify:
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("no drift reported for %s within %s", key, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}
