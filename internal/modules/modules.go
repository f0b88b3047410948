package modules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Service is what a module runs: Run blocks until ctx ends (returning nil)
// or the service fails.
type Service interface {
	Run(ctx context.Context) error
}

// Readier is implemented by services that know whether they are ready to
// serve; others count as ready once started.
type Readier interface {
	Ready() error
}

// ServiceFunc adapts a function to Service.
type ServiceFunc func(ctx context.Context) error

func (f ServiceFunc) Run(ctx context.Context) error { return f(ctx) }

// InitFunc builds a module's service once its dependencies are initialised.
// A module with nothing to run (clients, a target grouping others) returns
// a nil Service.
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

	mu      sync.Mutex
	running map[string]Service
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{modules: map[string]*module{}, running: map[string]Service{}}
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

// Run initialises the modules targets need in dependency order, then runs
// their services together until ctx ends or one fails; the first failure
// stops the others and is returned.
func (r *Registry) Run(ctx context.Context, targets []string) error {
	order, err := r.Order(targets)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	for _, name := range order {
		svc, err := r.modules[name].init(ctx)
		if err != nil {
			cancel() // stop what already runs
			return errors.Join(fmt.Errorf("init module %s: %w", name, err), g.Wait())
		}
		if svc == nil {
			continue
		}
		r.mu.Lock()
		r.running[name] = svc
		r.mu.Unlock()
		g.Go(func() error {
			if err := svc.Run(ctx); err != nil {
				return fmt.Errorf("module %s: %w", name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// Ready reports the first running service that is not ready.
func (r *Registry) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.running))
	for name := range r.running {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if rd, ok := r.running[name].(Readier); ok {
			if err := rd.Ready(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}
