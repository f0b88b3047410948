package leader

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/testenv"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/util/retry"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

// campaign runs an Elector for the Lease ns/name until the test ends or
// stop is called; done delivers Run's result.
type campaign struct {
	*Elector
	stop context.CancelFunc
	done chan struct{} // closed when Run returned err
	err  error
}

func startCampaign(t *testing.T, ns, identity string, lease time.Duration) *campaign {
	t.Helper()
	return startCampaignAt(t, ns, identity, "", lease)
}

// startCampaignAt campaigns for a replica serving at addr.
func startCampaignAt(t *testing.T, ns, identity, addr string, lease time.Duration) *campaign {
	t.Helper()
	opts := DefaultOptions()
	opts.Namespace, opts.Name, opts.Identity, opts.Address, opts.LeaseDuration = ns, "test-lease", identity, addr, lease
	e, err := New(env.Client, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &campaign{Elector: e, stop: cancel, done: make(chan struct{})}
	go func() {
		c.err = e.Run(ctx)
		close(c.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

func (c *campaign) result(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(within):
		t.Fatalf("%s: Run did not return within %s", c.Identity(), within)
		return nil
	}
}

func holder(t *testing.T, ns string) string {
	t.Helper()
	lease, err := env.Client.CoordinationV1().Leases(ns).Get(context.Background(), "test-lease", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	return time.Since(start)
}

// TestOneLeaderAndReleaseOnStop runs two replicas: one leads; stopping it
// releases the Lease before Run returns, so the other leads long before the
// Lease would have expired.
func TestOneLeaderAndReleaseOnStop(t *testing.T) {
	ns := env.Namespace(t)
	const lease = 20 * time.Second
	a, b := startCampaign(t, ns, "a", lease), startCampaign(t, ns, "b", lease)
	waitUntil(t, 10*time.Second, "a leader", func() bool { return a.Leading() || b.Leading() })
	leader, standby := a, b
	if b.Leading() {
		leader, standby = b, a
	}
	if standby.Leading() || isClosed(standby.Started()) {
		t.Fatal("both replicas lead")
	}
	if !isClosed(leader.Started()) {
		t.Error("Started is open while leading")
	}
	if got := holder(t, ns); got != leader.Identity() {
		t.Errorf("Lease holder = %q, want %q", got, leader.Identity())
	}

	leader.stop()
	if err := leader.result(t, 10*time.Second); err != nil {
		t.Errorf("Run after stop = %v, want nil", err)
	}
	if got := holder(t, ns); got == leader.Identity() {
		t.Errorf("the Lease is still held by %s after its Run returned", got)
	}
	if isClosed(leader.Lost()) || leader.Leading() {
		t.Error("a released Lease counts as lost or still leading")
	}
	took := waitUntil(t, lease/2, "the standby to lead", standby.Leading)
	t.Logf("standby leads %s after the release (Lease duration %s)", took.Round(time.Millisecond), lease)
}

// TestLostLeaseEndsRun takes the Lease from under the leader: Lost closes
// and Run returns ErrLost within the renew deadline.
func TestLostLeaseEndsRun(t *testing.T) {
	ns := env.Namespace(t)
	c := startCampaign(t, ns, "victim", 2*time.Second)
	waitUntil(t, 10*time.Second, "the replica to lead", c.Leading)

	thief := steal(t, ns, "test-lease")
	start := time.Now()
	select {
	case <-c.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost was not closed after the Lease was taken")
	}
	t.Logf("lost noticed after %s", time.Since(start).Round(time.Millisecond))
	err := c.result(t, 5*time.Second)
	if !errors.Is(err, ErrLost) || !strings.Contains(err.Error(), ns+"/test-lease") {
		t.Errorf("Run = %v, want ErrLost naming the Lease", err)
	}
	if c.Leading() {
		t.Error("Leading after the Lease was lost")
	}
	if got := holder(t, ns); got != thief {
		t.Errorf("Lease holder = %q, want the thief's", got)
	}
}

// steal makes "thief" hold the Lease ns/name for an hour, as another
// replica that took it over would.
func steal(t *testing.T, ns, name string) string {
	t.Helper()
	leases := env.Client.CoordinationV1().Leases(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := leases.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		thief, long, now := "thief", int32(3600), metav1.NewMicroTime(time.Now())
		lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds = &thief, &long
		lease.Spec.AcquireTime, lease.Spec.RenewTime = &now, &now
		_, err = leases.Update(context.Background(), lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return "thief"
}

// TestLeaderAddress: the leader's address is in the Lease with its
// identity, a standby reads it there, and it follows the Lease when the
// leader changes.
func TestLeaderAddress(t *testing.T) {
	ns := env.Namespace(t)
	const lease = 2 * time.Second
	a := startCampaignAt(t, ns, "a", "10.0.0.1:8080", lease)
	waitUntil(t, 10*time.Second, "a to lead", a.Leading)
	b := startCampaignAt(t, ns, "b", "[fd00::2]:8080", lease)
	if got := holder(t, ns); got != "a@10.0.0.1:8080" {
		t.Errorf("Lease holder = %q, want the identity with the address", got)
	}
	if addr, ok := a.LeaderAddress(); ok {
		t.Errorf("the leader forwards to %s, want no leader address but its own", addr)
	}
	waitUntil(t, 10*time.Second, "b to see a's address", func() bool { addr, _ := b.LeaderAddress(); return addr == "10.0.0.1:8080" })

	a.stop()
	if err := a.result(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to lead", b.Leading)
	c := startCampaignAt(t, ns, "c", "", lease)
	waitUntil(t, 10*time.Second, "c to see b's address", func() bool { addr, _ := c.LeaderAddress(); return addr == "[fd00::2]:8080" })
	if _, ok := addressOf("c"); ok {
		t.Error("an identity without an address has one")
	}
}

func TestCreatesTheLeaseNamespace(t *testing.T) {
	ns := "leader-" + rand.String(6)
	t.Cleanup(func() { _ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	c := startCampaign(t, ns, "first", 2*time.Second)
	waitUntil(t, 10*time.Second, "the replica to lead", c.Leading)
	if _, err := env.Client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Errorf("namespace %s was not created", ns)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		edit func(*Options)
		want string
	}{
		"no namespace":  {func(o *Options) { o.Namespace = "" }, "no namespace"},
		"no name":       {func(o *Options) { o.Name = "" }, "no name"},
		"short lease":   {func(o *Options) { o.LeaseDuration = time.Millisecond }, "shorter than 500ms"},
		"@ in identity": {func(o *Options) { o.Identity = "a@b" }, `identity "a@b"`},
		"bad address":   {func(o *Options) { o.Address = "10.0.0.1" }, `address "10.0.0.1"`},
	}
	for name, tc := range tests {
		opts := DefaultOptions()
		opts.Namespace, opts.Name = "ns", "lease"
		tc.edit(&opts)
		if _, err := New(env.Client, slog.Default(), opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want %q", name, err, tc.want)
		}
	}
}
