package main

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/gitopsd/gitopsd/internal/testenv"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// FluxDiff is the pull request's last head diffed as `flux diff
// kustomization` does: for each installation (kustomization), object after
// object, a read and a server-side dry run.
type FluxDiff struct {
	// All is every installation's diff, as a check that cannot tell which
	// installations a change affects needs; Affected the changed one's.
	All, Affected FluxRun
}

// FluxRun is what one pass of diffs cost.
type FluxRun struct {
	Objects  int
	Requests int
	Took     time.Duration
}

// measureFlux diffs the pull request's head with fluxcd/pkg/ssa's
// ResourceManager.Diff, requests counted at the client.
func (b *bench) measureFlux(ctx context.Context) (FluxDiff, error) {
	fmt.Fprintln(b.progress, "planbench: diffing the head as flux diff kustomization does")
	opts := source.DefaultOptions()
	opts.URL, opts.CacheDir = b.repoURL, b.dir+"/flux-cache"
	poller, err := source.NewPoller(opts, nil, nil)
	if err != nil {
		return FluxDiff{}, err
	}
	head, err := poller.FetchRef(ctx, "refs/pull/1/head", "")
	if err != nil {
		return FluxDiff{}, err
	}
	// controller-runtime's client logs nothing we read; without a logger
	// it prints a stack trace to say so.
	ctrllog.SetLogger(logr.Discard())
	cfg, requests := testenv.CountRequests(b.env.Config)
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return FluxDiff{}, err
	}
	manager := ssa.NewResourceManager(c, polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{}), ssa.Owner{Field: "kustomize-controller", Group: "kustomize.toolkit.fluxcd.io"})
	r := render.NewRenderer(render.DefaultOptions(), nil)
	var out FluxDiff
	for i, set := range b.sets {
		objs, err := r.Render(ctx, head.Files, head.Commit, "apps/"+set.Prefix)
		if err != nil {
			return FluxDiff{}, err
		}
		requests.Reset()
		start := time.Now()
		for _, o := range objs.Objects {
			if _, _, _, err := manager.Diff(ctx, o.DeepCopy(), ssa.DefaultDiffOptions()); err != nil {
				return FluxDiff{}, fmt.Errorf("flux diff %s: %w", o.GetName(), err)
			}
		}
		run := FluxRun{Objects: len(objs.Objects), Requests: len(requests.Log()), Took: time.Since(start)}
		out.All.Objects += run.Objects
		out.All.Requests += run.Requests
		out.All.Took += run.Took
		if i == 0 {
			out.Affected = run
		}
	}
	return out, nil
}
