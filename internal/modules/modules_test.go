package modules

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder registers modules that note when they initialise.
type recorder struct {
	mu    sync.Mutex
	inits []string
}

func (rec *recorder) init(name string, svc Service) InitFunc {
	return func(context.Context) (Service, error) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.inits = append(rec.inits, name)
		return svc, nil
	}
}

func blocking(ctx context.Context) error { <-ctx.Done(); return nil }

func TestStartOrderFollowsDependencies(t *testing.T) {
	rec := &recorder{}
	r := New()
	r.RegisterHidden("kube", nil, rec.init("kube", nil))
	r.RegisterHidden("server", nil, rec.init("server", ServiceFunc(blocking)))
	r.RegisterHidden("leader", []string{"kube"}, rec.init("leader", nil))
	r.Register("source", []string{"server"}, rec.init("source", ServiceFunc(blocking)))
	r.Register("reconciler", []string{"source", "leader", "kube"}, rec.init("reconciler", ServiceFunc(blocking)))
	r.Register("all", []string{"reconciler", "source"}, rec.init("all", nil))

	order, err := r.Order([]string{"all"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, name := range order {
		pos[name] = i
	}
	for name := range r.modules {
		for _, dep := range r.Dependencies(name) {
			if pos[dep] > pos[name] {
				t.Errorf("%s starts before its dependency %s: %v", name, dep, order)
			}
		}
	}
	if len(order) != 6 {
		t.Errorf("order = %v, want all 6 modules once", order)
	}
	if got, _ := r.Order([]string{"source"}); strings.Join(got, ",") != "server,source" {
		t.Errorf("target source needs %v, want server,source", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, []string{"all"}) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if strings.Join(rec.inits, ",") != strings.Join(order, ",") {
		t.Errorf("initialised %v, want %v", rec.inits, order)
	}
	if got := r.Targets(); strings.Join(got, ",") != "all,reconciler,source" {
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

func TestFailingModuleStopsTheOthers(t *testing.T) {
	r := New()
	stopped := make(chan struct{})
	r.Register("steady", nil, func(context.Context) (Service, error) {
		return ServiceFunc(func(ctx context.Context) error {
			<-ctx.Done()
			close(stopped)
			return nil
		}), nil
	})
	boom := errors.New("boom")
	r.Register("failing", []string{"steady"}, func(context.Context) (Service, error) {
		return ServiceFunc(func(context.Context) error { return boom }), nil
	})
	err := r.Run(context.Background(), []string{"failing"})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "module failing") {
		t.Errorf("Run = %v, want the failing module's error", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Error("the other module was not stopped")
	}
}

func TestFailingInitStopsWhatStarted(t *testing.T) {
	r := New()
	stopped := make(chan struct{})
	r.Register("first", nil, func(context.Context) (Service, error) {
		return ServiceFunc(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil }), nil
	})
	r.Register("second", []string{"first"}, func(context.Context) (Service, error) { return nil, errors.New("no config") })
	err := r.Run(context.Background(), []string{"second"})
	if err == nil || !strings.Contains(err.Error(), "init module second: no config") {
		t.Errorf("Run = %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Error("the started module was not stopped")
	}
}

type notReady struct{ ServiceFunc }

func (notReady) Ready() error { return errors.New("warming up") }

func TestReady(t *testing.T) {
	r := New()
	started := make(chan struct{})
	r.Register("slow", nil, func(context.Context) (Service, error) {
		return notReady{ServiceFunc(func(ctx context.Context) error { close(started); <-ctx.Done(); return nil })}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, []string{"slow"})
	<-started
	if err := r.Ready(); err == nil || !strings.Contains(err.Error(), "slow: warming up") {
		t.Errorf("Ready = %v", err)
	}
}
