package modules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// journal records what the modules of a test did, in order.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, fmt.Sprintf(format, args...))
}

// index is the position of event, or -1.
func (j *journal) index(event string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Index(j.events, event)
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.events, "\n")
}

// probe is a service that notes its start, the end of its context and its
// return. It can be told to fail to start, to fail while running, or to hold
// its return until released.
type probe struct {
	name     string
	j        *journal
	startErr error
	fail     chan error    // a value sent makes Run return it
	hold     chan struct{} // closed: Run may return after its context ended
	ended    chan struct{} // closed when Run's context ended
}

func newProbe(j *journal, name string) *probe {
	return &probe{name: name, j: j, fail: make(chan error, 1), ended: make(chan struct{})}
}

func (p *probe) Start(context.Context) error {
	p.j.add("start %s", p.name)
	return p.startErr
}

func (p *probe) Run(ctx context.Context) error {
	select {
	case err := <-p.fail:
		p.j.add("fail %s", p.name)
		return err
	case <-ctx.Done():
	}
	p.j.add("cancelled %s", p.name)
	close(p.ended)
	if p.hold != nil {
		<-p.hold
	}
	p.j.add("stop %s", p.name)
	return nil
}

// fleet registers modules named in deps; those in noService have nothing
// to run. Each init is noted in the journal.
func fleet(j *journal, deps map[string][]string, noService ...string) (*Registry, map[string]*probe) {
	r := New()
	probes := map[string]*probe{}
	for name, d := range deps {
		var svc Service
		if !slices.Contains(noService, name) {
			probes[name] = newProbe(j, name)
			svc = probes[name]
		}
		r.Register(name, d, func(context.Context) (Service, error) {
			j.add("init %s", name)
			return svc, nil
		})
	}
	return r, probes
}

// daemonLike is the shape of gitopsd's own modules.
var daemonLike = map[string][]string{
	"all":        {"reconciler", "source", "webhook"},
	"kube":       nil,
	"leader":     {"kube", "server"},
	"reconciler": {"kube", "leader", "server", "source"},
	"server":     nil,
	"source":     {"server"},
	"webhook":    {"server", "source"},
}

// start runs r in the background and waits until every module is ready.
func start(t *testing.T, r *Registry, targets ...string) (cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx, targets) }()
	waitUntil(t, "every module to run", func() bool { return r.Ready() == nil })
	return cancel, errc
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// users lists every edge "user needs dep" among modules with a service,
// following dependencies through modules without one.
func users(r *Registry, probes map[string]*probe) [][2]string {
	var edges [][2]string
	for user := range probes {
		seen := map[string]bool{}
		queue := r.Dependencies(user)
		for len(queue) > 0 {
			dep := queue[0]
			queue = queue[1:]
			if seen[dep] {
				continue
			}
			seen[dep] = true
			if probes[dep] != nil {
				edges = append(edges, [2]string{user, dep})
			}
			queue = append(queue, r.Dependencies(dep)...)
		}
	}
	return edges
}

func TestStartInDependencyOrderStopInReverse(t *testing.T) {
	j := &journal{}
	r, probes := fleet(j, daemonLike, "all", "kube")
	cancel, done := start(t, r, "all")

	order, _ := r.Order([]string{"all"})
	lastInit := j.index("init " + order[len(order)-1])
	for name := range probes {
		if j.index("start "+name) < lastInit {
			t.Errorf("%s started before every module was initialised:\n%s", name, j)
		}
	}
	edges := users(r, probes)
	if len(edges) != 7 {
		t.Fatalf("the test expects 7 edges among running modules, found %v", edges)
	}
	for _, e := range edges {
		if j.index("start "+e[1]) > j.index("start "+e[0]) {
			t.Errorf("%s started before %s, which it needs:\n%s", e[0], e[1], j)
		}
	}

	cancel()
	if err := result(t, done); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	for _, e := range edges {
		if stopped, cancelled := j.index("stop "+e[0]), j.index("cancelled "+e[1]); stopped < 0 || stopped > cancelled {
			t.Errorf("%s was stopped before %s, which uses it, returned:\n%s", e[1], e[0], j)
		}
	}
	for name, state := range r.States() {
		if state != Stopped {
			t.Errorf("%s is %s after Run, want stopped", name, state)
		}
	}
}

// TestStopWaitsForDependents holds the top module's return and checks that
// the module it uses, through one with nothing to run, keeps running.
func TestStopWaitsForDependents(t *testing.T) {
	j := &journal{}
	r, probes := fleet(j, map[string][]string{
		"lease":      nil,
		"leader":     {"lease"},
		"reconciler": {"leader"},
	}, "leader")
	probes["reconciler"].hold = make(chan struct{})
	cancel, done := start(t, r, "reconciler")

	cancel()
	<-probes["reconciler"].ended
	if got := r.States()["reconciler"]; got != Stopping {
		t.Errorf("reconciler is %s while it finishes, want stopping", got)
	}
	// A lifecycle that stopped everything at once would have cancelled
	// the lease module by now.
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case <-probes["lease"].ended:
			t.Fatalf("the lease module was stopped while the reconciler still ran:\n%s", j)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if got := r.States()["lease"]; got != Running {
		t.Errorf("lease is %s while the reconciler finishes, want running", got)
	}
	close(probes["reconciler"].hold)
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if j.index("stop reconciler") > j.index("cancelled lease") {
		t.Errorf("stop order:\n%s", j)
	}
}

func TestFailureStopsAllInReverseOrder(t *testing.T) {
	j := &journal{}
	r, probes := fleet(j, map[string][]string{
		"a":   nil,
		"b":   {"a"},
		"c":   {"b"},
		"d":   nil,
		"all": {"c", "d"},
	}, "all")
	_, done := start(t, r, "all")

	boom := errors.New("boom")
	probes["b"].fail <- boom
	err := result(t, done)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "module b: boom") {
		t.Errorf("Run = %v, want b's failure", err)
	}
	for _, name := range []string{"a", "c", "d"} {
		if j.index("stop "+name) < 0 {
			t.Errorf("%s was not stopped:\n%s", name, j)
		}
	}
	if j.index("stop c") > j.index("cancelled a") {
		t.Errorf("a was stopped before c, which uses it through b:\n%s", j)
	}
	if got := r.States()["b"]; got != Failed {
		t.Errorf("b is %s, want failed", got)
	}
}

func TestStartFailureStopsWhatStarted(t *testing.T) {
	j := &journal{}
	r, probes := fleet(j, map[string][]string{"a": nil, "b": {"a"}, "c": {"b"}})
	probes["b"].startErr = errors.New("address in use")
	err := r.Run(context.Background(), []string{"c"})
	if err == nil || err.Error() != "start module b: address in use" {
		t.Errorf("Run = %v", err)
	}
	if j.index("stop a") < 0 {
		t.Errorf("a, started, was not stopped:\n%s", j)
	}
	if j.index("start c") >= 0 {
		t.Errorf("c started after b failed to:\n%s", j)
	}
}

func TestStartPanicIsAFailure(t *testing.T) {
	j := &journal{}
	r, probes := fleet(j, map[string][]string{"a": nil, "b": {"a"}})
	r.Register("b", []string{"a"}, func(context.Context) (Service, error) { return panicStarter{probes["b"]}, nil })
	err := r.Run(context.Background(), []string{"b"})
	if err == nil || !strings.HasPrefix(err.Error(), "start module b: panic: listener gone") {
		t.Errorf("Run = %v", err)
	}
	if j.index("stop a") < 0 {
		t.Errorf("a, started, was not stopped:\n%s", j)
	}
}

type panicStarter struct{ *probe }

func (panicStarter) Start(context.Context) error { panic("listener gone") }

func TestInitFailureStartsNothing(t *testing.T) {
	j := &journal{}
	r, _ := fleet(j, map[string][]string{"a": nil})
	r.Register("b", []string{"a"}, func(context.Context) (Service, error) { return nil, errors.New("no config") })
	err := r.Run(context.Background(), []string{"b"})
	if err == nil || err.Error() != "init module b: no config" {
		t.Errorf("Run = %v", err)
	}
	if j.index("init a") < 0 || j.index("start a") >= 0 {
		t.Errorf("a must be initialised and not started:\n%s", j)
	}
}

func TestPanicAndUnaskedReturnAreFailures(t *testing.T) {
	tests := map[string]struct {
		run  ServiceFunc
		want string
	}{
		"panic":  {func(context.Context) error { panic("nil map") }, "module bad panicked: nil map"},
		"return": {func(context.Context) error { return nil }, "module bad returned before it was stopped"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			j := &journal{}
			r, _ := fleet(j, map[string][]string{"good": nil})
			r.Register("bad", []string{"good"}, func(context.Context) (Service, error) { return tc.run, nil })
			err := r.Run(context.Background(), []string{"bad"})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Run = %v, want %q", err, tc.want)
			}
			if j.index("stop good") < 0 {
				t.Errorf("the other module was not stopped:\n%s", j)
			}
		})
	}
}

type warming struct {
	*probe
	mu  sync.Mutex
	err error
}

func (w *warming) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func TestReadyPerModule(t *testing.T) {
	j := &journal{}
	r, _ := fleet(j, map[string][]string{"server": nil})
	slow := &warming{probe: newProbe(j, "source"), err: errors.New("no snapshot yet")}
	r.Register("source", []string{"server"}, func(context.Context) (Service, error) { return slow, nil })
	if err := r.Ready(); err == nil || err.Error() != "not started" {
		t.Errorf("Ready before Run = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, []string{"source"}) }()
	waitUntil(t, "the source to run", func() bool { return r.States()["source"] == Running })
	if err := r.Ready(); err == nil || err.Error() != "source: no snapshot yet" {
		t.Errorf("Ready = %v, want the source's reason", err)
	}
	slow.mu.Lock()
	slow.err = nil
	slow.mu.Unlock()
	if err := r.Ready(); err != nil {
		t.Errorf("Ready = %v, want nil", err)
	}
	cancel()
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if err := r.Ready(); err == nil || !strings.Contains(err.Error(), "server: stopped") {
		t.Errorf("Ready after Run = %v", err)
	}
}

func TestOrderAndTargets(t *testing.T) {
	r, _ := fleet(&journal{}, daemonLike)
	order, err := r.Order([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 7 {
		t.Errorf("order = %v, want all 7 modules once", order)
	}
	if got, _ := r.Order([]string{"webhook"}); strings.Join(got, ",") != "server,source,webhook" {
		t.Errorf("target webhook needs %v, want server,source,webhook", got)
	}
	r.RegisterHidden("secret", nil, nil)
	if got := r.Targets(); slices.Contains(got, "secret") {
		t.Errorf("targets = %v, hidden modules must not be listed", got)
	}
}

func TestUnknownTargetAndCycles(t *testing.T) {
	r := New()
	r.Register("a", []string{"b"}, nil)
	r.Register("b", []string{"c"}, nil)
	r.Register("c", []string{"a"}, nil)
	r.Register("d", []string{"missing"}, nil)
	r.RegisterHidden("secret", nil, nil)
	tests := map[string]string{
		"nope":   `unknown target "nope"; targets are a, b, c, d`,
		"secret": `unknown target "secret"`,
		"a":      "dependency cycle: a -> b -> c -> a",
		"d":      `module d needs unknown module "missing"`,
	}
	for target, want := range tests {
		_, err := r.Order([]string{target})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("target %s: %v, want %q", target, err, want)
		}
		if err := r.Run(context.Background(), []string{target}); err == nil {
			t.Errorf("Run(%s) started anyway", target)
		}
	}
}
