package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// ErrLost is Run's error when this replica stopped leading on its own: it
// could not renew the Lease in time, or another replica took it.
var ErrLost = errors.New("lost the leader election Lease")

// Options say which Lease to hold and how.
type Options struct {
	// Namespace and Name locate the Lease. The namespace is created when
	// missing.
	Namespace, Name string
	// Identity names this replica in the Lease; default the host name and
	// a random suffix.
	Identity string
	// Address, when set, is the host:port at which the other replicas
	// reach this one's HTTP server. It is published in the Lease with the
	// identity (IDENTITY@ADDRESS), so that whoever reads the holder knows
	// where the leader listens: a standby hands webhooks to it.
	Address string
	// LeaseDuration is how long a dead leader's Lease blocks a standby.
	// The leader renews it within two thirds of that, retrying every
	// fifth.
	LeaseDuration time.Duration
}

// DefaultOptions hold a Lease for 15s. Namespace and Name are the caller's.
func DefaultOptions() Options {
	return Options{LeaseDuration: 15 * time.Second}
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case o.Namespace == "":
		return errors.New("leader election: no namespace for the Lease")
	case o.Name == "":
		return errors.New("leader election: no name for the Lease")
	case o.LeaseDuration < 500*time.Millisecond:
		return fmt.Errorf("leader election: lease duration %s is shorter than 500ms", o.LeaseDuration)
	case strings.Contains(o.Identity, addressSep):
		return fmt.Errorf("leader election: identity %q holds %q, which separates the address", o.Identity, addressSep)
	}
	if o.Address != "" {
		if _, _, err := net.SplitHostPort(o.Address); err != nil {
			return fmt.Errorf("leader election: address %q: %w", o.Address, err)
		}
	}
	return nil
}

// Elector campaigns for a Lease. Run it once.
type Elector struct {
	client  kubernetes.Interface
	log     *slog.Logger
	opts    Options
	elector *leaderelection.LeaderElector

	started chan struct{}
	lost    chan struct{}

	mu      sync.Mutex
	leading bool
	ended   bool // Run has returned
}

// New returns an Elector for the Lease opts name.
func New(client kubernetes.Interface, log *slog.Logger, opts Options) (*Elector, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Identity == "" {
		host, _ := os.Hostname()
		opts.Identity = host + "_" + rand.String(6)
	}
	if opts.Address != "" {
		opts.Identity += addressSep + opts.Address
	}
	e := &Elector{client: client, log: log, opts: opts, started: make(chan struct{}), lost: make(chan struct{})}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, opts.Namespace, opts.Name,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: opts.Identity})
	if err != nil {
		return nil, fmt.Errorf("leader election Lease %s/%s: %w", opts.Namespace, opts.Name, err)
	}
	lease := opts.LeaseDuration
	e.elector, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   lease,
		RenewDeadline:   lease * 2 / 3,
		RetryPeriod:     max(lease/5, 100*time.Millisecond),
		ReleaseOnCancel: true,
		Name:            opts.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { e.startLeading() },
			OnStoppedLeading: e.stopLeading,
			OnNewLeader:      e.newLeader,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("leader election Lease %s/%s: %w", opts.Namespace, opts.Name, err)
	}
	return e, nil
}

// Run creates the Lease's namespace if needed and campaigns until ctx ends;
// a leader then releases the Lease before Run returns nil. It returns
// ErrLost as soon as this replica stops leading while ctx is still live.
func (e *Elector) Run(ctx context.Context) error {
	if err := e.ensureNamespace(ctx); err != nil {
		return err
	}
	e.elector.Run(ctx) // returns once released, or lost
	e.mu.Lock()
	e.leading, e.ended = false, true
	e.mu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	close(e.lost)
	return fmt.Errorf("%w %s/%s", ErrLost, e.opts.Namespace, e.opts.Name)
}

// Leading reports whether this replica holds the Lease now.
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Started is closed when this replica starts leading.
func (e *Elector) Started() <-chan struct{} { return e.started }

// Lost is closed when this replica stops leading while Run was not asked
// to end.
func (e *Elector) Lost() <-chan struct{} { return e.lost }

// Identity is this replica's name in the Lease, with its address when it
// has one.
func (e *Elector) Identity() string { return e.opts.Identity }

// LeaderAddress is the address the replica holding the Lease published, as
// this replica last saw the Lease (a standby looks every fifth of the lease
// duration). It is false while no other replica is known to lead, or the
// leader published none.
func (e *Elector) LeaderAddress() (string, bool) {
	holder := e.elector.GetLeader()
	if holder == "" || holder == e.opts.Identity {
		return "", false
	}
	return addressOf(holder)
}

// addressSep separates a holder's identity from its address in the Lease;
// neither host names nor pod names hold it.
const addressSep = "@"

// addressOf is the address published in a Lease holder identity.
func addressOf(holder string) (string, bool) {
	i := strings.LastIndex(holder, addressSep)
	if i < 0 || i == len(holder)-1 {
		return "", false
	}
	return holder[i+1:], true
}

// startLeading runs on its own goroutine, possibly after Run returned.
func (e *Elector) startLeading() {
	e.mu.Lock()
	if e.ended || e.leading {
		e.mu.Unlock()
		return
	}
	e.leading = true
	close(e.started)
	e.mu.Unlock()
	e.log.Info("leading: this replica applies", logkey.Lease, e.opts.Namespace+"/"+e.opts.Name, logkey.Identity, e.opts.Identity)
}

func (e *Elector) stopLeading() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leading = false
}

func (e *Elector) newLeader(identity string) {
	if identity != e.opts.Identity {
		e.log.Info("standing by", logkey.Leader, identity, logkey.Lease, e.opts.Namespace+"/"+e.opts.Name)
	}
}

// ensureNamespace creates the Lease's namespace on a cluster that has none
// yet; a replica that may not create namespaces relies on it existing.
func (e *Elector) ensureNamespace(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.opts.Namespace}}
	_, err := e.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "gitopsd"})
	if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) {
		return nil
	}
	return fmt.Errorf("create namespace %s for the leader election Lease: %w", e.opts.Namespace, err)
}
