package reconcile

import (
	"errors"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// TestObjectChangesHealth gives each object of a ChangeSet the health the
// health check saw, and none where it cannot tell.
func TestObjectChangesHealth(t *testing.T) {
	web := render.Key{Kind: "Deployment", Namespace: "shop", Name: "web"}
	db := render.Key{Kind: "Deployment", Namespace: "shop", Name: "db"}
	old := render.Key{Kind: "ConfigMap", Namespace: "shop", Name: "old"}
	cs := &apply.ChangeSet{Changes: []apply.Change{
		{Key: web, Action: apply.Configured},
		{Key: db, Action: apply.Unchanged},
		{Key: old, Action: apply.Deleted},
	}}
	for _, tc := range []struct {
		name    string
		checked bool
		err     error
		want    [3]string
	}{
		{"not checked", false, nil, [3]string{"", "", ""}},
		{"healthy", true, nil, [3]string{"Current", "Current", ""}},
		{"timed out", true, &apply.NotReadyError{Objects: []apply.NotReady{{Key: web, Status: status.InProgressStatus, Message: "1 of 2 ready"}}},
			[3]string{"InProgress", "Current", ""}},
		{"failed", true, &apply.NotReadyError{Failed: true, Objects: []apply.NotReady{{Key: web, Status: status.FailedStatus, Message: "crash"}}},
			[3]string{"Failed", "", ""}},
		{"cut short", true, errors.New("context canceled"), [3]string{"", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := objectChanges(cs, tc.checked, tc.err)
			for i, c := range got {
				if c.Health != tc.want[i] {
					t.Errorf("%s: health %q, want %q", c.Object, c.Health, tc.want[i])
				}
			}
			if got[0].Object != "Deployment/shop/web" || got[2].Action != "deleted" {
				t.Errorf("changes = %+v", got)
			}
		})
	}
}
