package modules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Service is what a module runs: Run blocks until ctx ends (returning nil)
// or the service fails. Returning before ctx ends is a failure too: no part
// of the process stops silently.
type Service interface {
	Run(ctx context.Context) error
}

// Starter is a Service with a start-up that the modules depending on it
// wait for, such as listening on a port. Start returns once the service is
// started; Run follows.
type Starter interface {
	Start(ctx context.Context) error
}

// Readier is implemented by services that know whether they are ready to
// serve; others count as ready while they run.
type Readier interface {
	Ready() error
}

// ServiceFunc adapts a function to Service.
type ServiceFunc func(ctx context.Context) error

func (f ServiceFunc) Run(ctx context.Context) error { return f(ctx) }

// InitFunc builds a module's service once the modules it depends on are
// initialised; nothing runs yet. A module with nothing to run (clients, a
// target grouping others) returns a nil Service.
type InitFunc func(ctx context.Context) (Service, error)

type module struct {
	name   string
	deps   []string
	init   InitFunc
	hidden bool
}

// Registry holds the modules. Register them all before Run.
type Registry struct {
	modules map[string]*module

	mu        sync.Mutex
	instances []*instance // set by Run, in start order
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{modules: map[string]*module{}}
}

// Register adds a target module.
func (r *Registry) Register(name string, deps []string, init InitFunc) {
	r.modules[name] = &module{name: name, deps: deps, init: init}
}

// RegisterHidden adds a module that only runs as another's dependency.
func (r *Registry) RegisterHidden(name string, deps []string, init InitFunc) {
	r.modules[name] = &module{name: name, deps: deps, init: init, hidden: true}
}

// Targets lists the modules that can be named as targets, sorted.
func (r *Registry) Targets() []string {
	var names []string
	for name, m := range r.modules {
		if !m.hidden {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Dependencies returns name's direct dependencies.
func (r *Registry) Dependencies(name string) []string {
	if m, ok := r.modules[name]; ok {
		return slices.Clone(m.deps)
	}
	return nil
}

// Order returns the modules that targets need, each after its dependencies.
// It refuses unknown or hidden targets, unknown dependencies and cycles.
func (r *Registry) Order(targets []string) ([]string, error) {
	if len(targets) == 0 {
		return nil, errors.New("no target given")
	}
	var (
		order []string
		state = map[string]int{} // 1 visiting, 2 done
		visit func(name string, path []string) error
	)
	visit = func(name string, path []string) error {
		m, ok := r.modules[name]
		if !ok {
			return fmt.Errorf("module %s needs unknown module %q", path[len(path)-1], name)
		}
		switch state[name] {
		case 1:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, name), " -> "))
		case 2:
			return nil
		}
		state[name] = 1
		deps := slices.Clone(m.deps)
		sort.Strings(deps)
		for _, dep := range deps {
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, t := range targets {
		if m, ok := r.modules[t]; !ok || m.hidden {
			return nil, fmt.Errorf("unknown target %q; targets are %s", t, strings.Join(r.Targets(), ", "))
		}
		if err := visit(t, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Run initialises every module targets need, each after its dependencies;
// then starts their services in that order and runs them until ctx ends or
// one fails. Then it stops them in reverse order: a module is stopped (its
// context cancelled) only once every module that uses it has returned. It
// returns the failures, first to last; an init failure starts nothing.
func (r *Registry) Run(ctx context.Context, targets []string) error {
	order, err := r.Order(targets)
	if err != nil {
		return err
	}
	services := make(map[string]Service, len(order))
	for _, name := range order {
		svc, err := r.modules[name].init(ctx)
		if err != nil {
			return fmt.Errorf("init module %s: %w", name, err)
		}
		services[name] = svc
	}
	g := r.newGroup(ctx, order, services)
	r.mu.Lock()
	r.instances = g.instances
	r.mu.Unlock()
	g.startAll(ctx)
	select {
	case <-ctx.Done():
	case <-g.failed:
	}
	g.stopAll()
	return g.err()
}

// Ready reports the modules that do not run, or run and are not ready.
func (r *Registry) Ready() error {
	r.mu.Lock()
	instances := r.instances
	r.mu.Unlock()
	if instances == nil {
		return errors.New("not started")
	}
	var errs []error
	for _, in := range instances {
		if state := in.State(); state != Running {
			errs = append(errs, fmt.Errorf("%s: %s", in.name, state))
			continue
		}
		if rd, ok := in.svc.(Readier); ok {
			if err := rd.Ready(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", in.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// States returns the state of each module with something to run, by name;
// empty before Run.
func (r *Registry) States() map[string]State {
	r.mu.Lock()
	instances := r.instances
	r.mu.Unlock()
	states := make(map[string]State, len(instances))
	for _, in := range instances {
		states[in.name] = in.State()
	}
	return states
}
