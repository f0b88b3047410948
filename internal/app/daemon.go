package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sync"

	"github.com/gitopsd/gitopsd/internal/leader"
	"github.com/gitopsd/gitopsd/internal/modules"
	"github.com/gitopsd/gitopsd/internal/web"
	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/drift"
	"github.com/gitopsd/gitopsd/pkg/github"
	"github.com/gitopsd/gitopsd/pkg/inventory"
	"github.com/gitopsd/gitopsd/pkg/plancheck"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// Module names. Targets are what -target accepts; the others run only as
// dependencies.
const (
	modAll        = "all"
	modSource     = "source"
	modReconciler = "reconciler"
	modWebhook    = "webhook"
	modServer     = "server"
	modKube       = "kube"
	modLeader     = "leader"
	modPlan       = "plan"
)

// dependencies declares, in one place, what each module needs.
var dependencies = map[string][]string{
	modAll:        {modPlan, modReconciler, modSource, modWebhook},
	modKube:       nil,
	modLeader:     {modKube, modServer},
	modPlan:       {modKube, modLeader, modServer, modSource},
	modReconciler: {modKube, modLeader, modServer, modSource},
	modServer:     nil,
	modSource:     {modLeader, modServer},
	modWebhook:    {modLeader, modServer, modSource},
}

var hidden = map[string]bool{modServer: true, modKube: true, modLeader: true}

// daemon holds what the modules of `gitopsd run` build and share. Each
// init fills in its part; dependencies guarantee the order.
type daemon struct {
	flags    *runFlags
	log      *slog.Logger
	registry *modules.Registry

	metrics       *prometheus.Registry
	sourceMetrics *source.Metrics
	mux           *http.ServeMux
	restConfig    *rest.Config
	client        kubernetes.Interface
	poller        *source.Poller
	elector       *leader.Elector // nil: leader election is off
	reconciler    *reconcile.Reconciler
	checker       *plancheck.Checker // nil: plan checks are off
	planContext   string             // the plan checks' commit status context
	// gh is the GitHub client the plan checks and the cutovers share, built
	// once by githubClient.
	gh struct {
		once   sync.Once
		client *github.Client
		err    error
	}
	pullRequests pullRequestForwarder
}

func newDaemon(f *runFlags, log *slog.Logger) *daemon {
	d := &daemon{flags: f, log: log, registry: modules.New()}
	inits := map[string]modules.InitFunc{
		modAll:        func(context.Context) (modules.Service, error) { return nil, nil },
		modServer:     d.initServer,
		modKube:       d.initKube,
		modLeader:     d.initLeader,
		modSource:     d.initSource,
		modWebhook:    d.initWebhook,
		modReconciler: d.initReconciler,
		modPlan:       d.initPlan,
	}
	for name, deps := range dependencies {
		if hidden[name] {
			d.registry.RegisterHidden(name, deps, inits[name])
		} else {
			d.registry.Register(name, deps, inits[name])
		}
	}
	return d
}

func (d *daemon) initServer(context.Context) (modules.Service, error) {
	d.metrics = prometheus.NewRegistry()
	d.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.mux = http.NewServeMux()
	if d.flags.pprof {
		d.mux.HandleFunc("/debug/pprof/", pprof.Index)
		d.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	return newServer(d.flags.httpAddr, d.mux, d.metrics, d.registry.Ready, d.log), nil
}

func (d *daemon) initKube(context.Context) (modules.Service, error) {
	cfg, err := d.flags.kube.config()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	d.restConfig, d.client = cfg, client
	return nil, nil
}

func (d *daemon) initSource(context.Context) (modules.Service, error) {
	d.sourceMetrics = source.NewMetrics()
	if err := d.sourceMetrics.Register(d.metrics); err != nil {
		return nil, err
	}
	poller, err := source.NewPoller(d.flags.src.options(), d.log, d.sourceMetrics)
	if err != nil {
		return nil, err
	}
	d.poller = poller
	// Only the leader polls: a standby keeps no copy of the repository, so
	// it is ready without one.
	run := modules.ServiceFunc(func(ctx context.Context) error {
		if !d.lead(ctx) {
			return nil
		}
		return poller.Run(ctx)
	})
	return readyService{Service: run, ready: func() error {
		if _, ok := poller.Latest(); !ok && d.leading() {
			return errors.New("no snapshot of the repository yet")
		}
		return nil
	}}, nil
}

func (d *daemon) initWebhook(context.Context) (modules.Service, error) {
	if d.flags.webhookSecretFile == "" {
		d.log.Info("webhook off: no --webhook-secret-file")
		return nil, nil
	}
	opts := github.DefaultRouterOptions()
	opts.SecretFile = d.flags.webhookSecretFile
	deps := github.RouterDeps{Sources: []github.Source{d.poller}, Registerer: d.metrics, Log: d.log}
	if d.elector != nil {
		// A standby forwards deliveries to the leader, and is ready once
		// it knows where the leader listens.
		deps.Leadership = d.elector
	}
	if d.flags.plan.enabled() {
		// Handed to the plan module, when it runs in this process.
		deps.PullRequests = &d.pullRequests
	}
	router, err := github.NewRouter(opts, deps)
	if err != nil {
		return nil, err
	}
	d.mux.Handle("POST /hooks/github", router)
	return readyService{Service: modules.ServiceFunc(idle), ready: router.Ready}, nil
}

// idle runs until ctx ends: the service of a module that only serves HTTP.
func idle(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (d *daemon) initReconciler(context.Context) (modules.Service, error) {
	// Every request to the API server tells whether it answers.
	reach := reconcile.NewReachability(nil)
	cfg := rest.CopyConfig(d.restConfig)
	cfg.Wrap(reach.Wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	inventories := reconcile.NewWatchedInventories(inventory.NewStore(client, inventory.DefaultNamespace), meta, inventory.DefaultNamespace)
	manager, err := apply.NewManager(cfg, inventories, d.log)
	if err != nil {
		return nil, err
	}
	metrics, driftMetrics := reconcile.NewMetrics(), drift.NewMetrics()
	if err := errors.Join(metrics.Register(d.metrics), driftMetrics.Register(d.metrics)); err != nil {
		return nil, err
	}
	events, stopEvents := reconcile.NewKubeEvents(client, inventory.DefaultNamespace, d.flags.podName, inventories)
	detector, err := drift.NewDetector(drift.Deps{Metadata: meta, Mapper: manager, Checker: manager, Recorder: events, Metrics: driftMetrics, Log: d.log}, drift.DefaultOptions())
	if err != nil {
		stopEvents()
		return nil, err
	}
	cutovers, reporter, token, err := d.cutovers(client)
	if err != nil {
		stopEvents()
		return nil, err
	}
	opts := reconcile.DefaultOptions()
	opts.Source, opts.Name = d.poller.Identity(), d.flags.src.name()
	opts.MaxBackoff, opts.ShutdownGrace = d.flags.maxBackoff, d.flags.shutdownGrace
	opts.Apply.Concurrency = d.flags.concurrency
	opts.Apply.Protected = d.flags.protected()
	d.reconciler, err = reconcile.New(reconcile.Deps{
		Snapshots: d.poller, Renderer: render.NewRenderer(d.flags.src.render, d.log), Applier: manager, Inventories: inventories,
		Drift: detector, Events: events, Metrics: metrics, Log: d.log, Reachability: reach, Cutovers: cutovers,
	}, opts)
	if err != nil {
		stopEvents()
		return nil, err
	}
	if err := web.Register(d.mux, web.Deps{Status: d.status, Plan: d.plan}, web.DefaultOptions()); err != nil {
		stopEvents()
		return nil, err
	}
	registerCommands(d.mux, d.reconciler, token, d.leading)
	return modules.ServiceFunc(func(ctx context.Context) error {
		defer stopEvents()
		if reporter != nil {
			done := make(chan struct{})
			go func() { _ = reporter.Run(ctx); close(done) }()
			defer func() { <-done }()
		}
		return d.reconcile(ctx)
	}), nil
}

// reconcile runs the reconciler once this replica leads. The leader module
// is a dependency, so at shutdown the Lease is released only after this
// returns; a Lease lost meanwhile aborts the applies under way at once.
func (d *daemon) reconcile(ctx context.Context) error {
	if d.elector == nil {
		return d.reconciler.Run(ctx)
	}
	if !d.lead(ctx) {
		return nil
	}
	go func() {
		select {
		case <-d.elector.Lost():
			// The leader module fails with the loss, which stops the
			// process; the applies must not wait for that.
			d.reconciler.Abort()
		case <-ctx.Done():
		}
	}()
	return d.reconciler.Run(ctx)
}

// leading reports whether this replica applies: it holds the Lease, or
// leader election is off.
func (d *daemon) leading() bool { return d.elector == nil || d.elector.Leading() }

// lead waits until this replica leads (true at once with leader election
// off), or until ctx ends (false).
func (d *daemon) lead(ctx context.Context) bool {
	if d.elector == nil {
		return true
	}
	select {
	case <-d.elector.Started():
		return true
	case <-ctx.Done():
		return false
	}
}

// readyService adds a readiness check to a service.
type readyService struct {
	modules.Service
	ready func() error
}

func (s readyService) Ready() error { return s.ready() }
