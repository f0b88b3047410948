package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/pkg/drift"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStatusWhileDriftIsCorrected reads the status, as the status API does,
// from several goroutines without pause while drift is corrected again and
// again: the reconciler and the detector must never wait on each other's
// lock, and both go on working.
func TestStatusWhileDriftIsCorrected(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	rp := newRepo(t, ns, map[string]string{
		"gitopsd.yaml": "installations:\n  - name: app\n    path: app\n",
		"app/cm.yaml":  cm("settings", "git"),
	})
	d := startDaemon(t, ns, rp, setup{drift: func(o *drift.Options) { o.FightCorrections = 1000 }})
	d.waitFor(10*time.Second, "the first apply", readyAt(rp.git("rev-parse", "HEAD")))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					d.r.Status()
				}
			}
		})
	}
	cms := env.Client.CoreV1().ConfigMaps(ns)
	for i := range 20 {
		cm, err := cms.Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["v"] = fmt.Sprint("edited-", i)
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		corrected := poll(10*time.Second, func() bool {
			cm, err := cms.Get(ctx, "settings", metav1.GetOptions{})
			return err == nil && cm.Data["v"] == "git"
		})
		if !corrected {
			t.Fatalf("edit %d was not corrected: the reconciler and the detector wait on each other", i)
		}
	}
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Status does not return")
	}
}
