package main

import (
	"context"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/bench/internal/objects"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// rolloutWorkers write Deployment statuses concurrently; rolloutsWatch is
// how long their watch stays open, longer than any run.
const (
	rolloutWorkers = 4
	rolloutsWatch  = 2 * time.Hour
)

// Rollouts stands in for the Deployment controller, which a plane of only
// etcd and kube-apiserver lacks: it marks every benchmark Deployment as
// rolled out, so that the daemon's health wait ends as it would on a
// cluster whose pods start. It writes one status per Deployment generation.
type Rollouts struct {
	client   kubernetes.Interface
	informer cache.SharedIndexInformer
	queue    workqueue.TypedRateLimitingInterface[string]
	stop     func()
}

// StartRollouts starts marking the Deployments that carry objects.LabelSet.
func StartRollouts(ctx context.Context, cfg *rest.Config) (*Rollouts, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0 // a controller of the plane, not a client of it
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = objects.LabelSet
		if o.TimeoutSeconds != nil {
			// One watch for the whole run: a watch opened again inside
			// the window would count as the daemon's request.
			o.TimeoutSeconds = ptr.To(int64(rolloutsWatch.Seconds()))
		}
	}))
	r := &Rollouts{client: client, informer: factory.Apps().V1().Deployments().Informer(), queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
	enqueue := func(obj any) {
		if d, ok := obj.(*appsv1.Deployment); ok && !rolledOut(d) {
			r.queue.Add(d.Namespace + "/" + d.Name)
		}
	}
	_, err = r.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.informer.RunWithContext(ctx) })
	for range rolloutWorkers {
		wg.Go(func() {
			for r.next(ctx) {
			}
		})
	}
	r.stop = func() {
		cancel()
		r.queue.ShutDown()
		wg.Wait()
	}
	return r, nil
}

// Stop stops writing statuses.
func (r *Rollouts) Stop() { r.stop() }

// next marks one Deployment; false once the queue is shut down. A failed
// write is retried after a backoff.
func (r *Rollouts) next(ctx context.Context) bool {
	key, shutdown := r.queue.Get()
	if shutdown {
		return false
	}
	defer r.queue.Done(key)
	obj, exists, err := r.informer.GetStore().GetByKey(key)
	if err != nil || !exists {
		return true
	}
	d := obj.(*appsv1.Deployment).DeepCopy()
	if rolledOut(d) {
		return true
	}
	d.Status = rolledOutStatus(d, metav1.Now())
	if _, err := r.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "driftbench-rollouts"}); err != nil {
		r.queue.AddRateLimited(key)
		return true
	}
	r.queue.Forget(key)
	return true
}

func rolledOut(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == replicas(d)
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// rolledOutStatus is what the Deployment controller reports once every
// replica of the current generation is available.
func rolledOutStatus(d *appsv1.Deployment, now metav1.Time) appsv1.DeploymentStatus {
	n := replicas(d)
	return appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
		},
	}
}
