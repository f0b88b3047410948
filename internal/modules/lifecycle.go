package modules

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// State is where a module's service is in its life.
type State string

const (
	Waiting  State = "waiting"
	Starting State = "starting"
	Running  State = "running"
	Stopping State = "stopping"
	Stopped  State = "stopped"
	Failed   State = "failed"
)

// instance is one module's service in one Run.
type instance struct {
	name string
	svc  Service
	// dependents are the modules with a service that use this one,
	// directly or through modules with nothing to run.
	dependents []*instance
	ctx        context.Context
	stop       context.CancelFunc
	done       chan struct{} // closed when Run returned, or at stop if it never started

	mu    sync.Mutex
	state State
}

func (in *instance) State() State {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state
}

// transition moves from one state to the next unless the state changed
// meanwhile.
func (in *instance) transition(from, to State) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state == from {
		in.state = to
	}
}

func (in *instance) setState(s State) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.state = s
}

// group runs the instances of one Run.
type group struct {
	instances []*instance // in start order
	// abortStart ends a Start under way when a running module fails.
	abortStart context.CancelFunc
	startCtx   context.Context

	failed   chan struct{} // closed at the first failure
	failOnce sync.Once
	mu       sync.Mutex
	errs     []error
}

// newGroup makes an instance of each module in order that has a service.
// Their contexts keep ctx's values but not its cancellation: the group
// cancels each one in turn when it stops.
func (r *Registry) newGroup(ctx context.Context, order []string, services map[string]Service) *group {
	g := &group{failed: make(chan struct{})}
	g.startCtx, g.abortStart = context.WithCancel(ctx)
	users := map[string][]string{} // module -> the modules that depend on it
	for _, name := range order {
		for _, dep := range r.modules[name].deps {
			users[dep] = append(users[dep], name)
		}
	}
	byName := map[string]*instance{}
	for _, name := range order {
		if services[name] == nil {
			continue
		}
		in := &instance{name: name, svc: services[name], done: make(chan struct{}), state: Waiting}
		in.ctx, in.stop = context.WithCancel(context.WithoutCancel(ctx))
		byName[name] = in
		g.instances = append(g.instances, in)
	}
	for _, in := range g.instances {
		for _, name := range transitive(users, in.name) {
			if user := byName[name]; user != nil {
				in.dependents = append(in.dependents, user)
			}
		}
	}
	return g
}

// transitive lists every module that depends on name, directly or not.
func transitive(users map[string][]string, name string) []string {
	seen := map[string]bool{}
	var out []string
	queue := []string{name}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, u := range users[next] {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
				queue = append(queue, u)
			}
		}
	}
	return out
}

// startAll starts the instances one after the other, each after those it
// depends on, until one fails to start, a running one fails or ctx ends.
func (g *group) startAll(ctx context.Context) {
	for _, in := range g.instances {
		if ctx.Err() != nil || g.hasFailed() {
			return
		}
		in.setState(Starting)
		if err := g.start(in); err != nil {
			in.setState(Failed)
			close(in.done)
			if ctx.Err() == nil && !g.hasFailed() {
				g.fail(fmt.Errorf("start module %s: %w", in.name, err))
			}
			return
		}
		in.setState(Running)
		go g.run(in)
	}
}

// start calls a Starter's Start; a panic is its failure.
func (g *group) start(in *instance) (err error) {
	s, ok := in.svc.(Starter)
	if !ok {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return s.Start(g.startCtx)
}

// run runs one instance; a panic is its failure, not the process's end.
func (g *group) run(in *instance) {
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("module %s panicked: %v\n%s", in.name, p, debug.Stack())
		}
		switch {
		case err != nil:
			in.setState(Failed)
			g.fail(err)
		case in.ctx.Err() == nil:
			in.setState(Failed)
			g.fail(fmt.Errorf("module %s returned before it was stopped", in.name))
		default:
			in.setState(Stopped)
		}
		close(in.done)
	}()
	err = in.svc.Run(in.ctx)
	if err != nil && in.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // stopped as asked
	} else if err != nil {
		err = fmt.Errorf("module %s: %w", in.name, err)
	}
}

// stopAll stops every instance once all that use it have returned, so
// instances stop in reverse dependency order, and waits for all.
func (g *group) stopAll() {
	g.abortStart()
	for _, in := range g.instances {
		if in.State() == Waiting {
			close(in.done) // never started
		}
	}
	var wg sync.WaitGroup
	for _, in := range g.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, user := range in.dependents {
				<-user.done
			}
			in.transition(Running, Stopping)
			in.stop()
			<-in.done
		}()
	}
	wg.Wait()
}

func (g *group) fail(err error) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.mu.Unlock()
	g.failOnce.Do(func() {
		close(g.failed)
		g.abortStart()
	})
}

func (g *group) hasFailed() bool {
	select {
	case <-g.failed:
		return true
	default:
		return false
	}
}

// err joins the failures, first to last.
func (g *group) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}
