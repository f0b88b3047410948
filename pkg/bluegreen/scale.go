package bluegreen

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// scaleManager is the field manager of the replicas gitopsd sets through
// the scale subresource.
const scaleManager = "gitopsd-cutover"

// scaleColours sizes the colours an autoscaler does not scale. With an
// autoscaler, no colour's replicas are part of what gitopsd applies (they
// would fight the autoscaler on the live colour and be reset when the
// autoscaler moves to another colour); the idle, kept and scaled-down
// colours are sized here, through the scale subresource, as the
// autoscaler itself does.
func (x *run) scaleColours(ctx context.Context) error {
	deployments := x.c.client.AppsV1().Deployments(x.r.namespace)
	for _, c := range Colours {
		v := x.st.version(c)
		if v == nil || c == x.st.Live {
			continue
		}
		name := ColouredName(x.in.Spec.Deployment, c)
		scale, err := deployments.GetScale(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the scale of %s: %w", name, err)
		}
		if scale.Spec.Replicas == v.Replicas {
			continue
		}
		// A patch, not an update: the controllers write the Deployment
		// all the time, and the size wanted does not depend on theirs.
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, v.Replicas)
		if _, err := deployments.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: scaleManager}, "scale"); err != nil {
			return fmt.Errorf("scale %s to %d: %w", name, v.Replicas, err)
		}
	}
	return nil
}
