package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

func runPlan(ctx context.Context, args []string, out, errOut io.Writer) error {
	var (
		sel          selection
		kube         kubeFlags
		base, output string
	)
	fs := newFlagSet("plan", "(--repo URL --ref REF | --dir DIR) [--base REF] [--installation NAME] [--kubeconfig PATH] [-o text|markdown|json]\n\n"+
		"Shows what applying a commit would do, by server-side dry run: the plan a pull request check\n"+
		"posts. --ref may be any ref of the repository, such as refs/pull/7/head. With --base, only the\n"+
		"installations that differ from the base are planned, and installations another gitopsd owns are\n"+
		"refused. Exit status: 0 no changes, 1 changes, 2 error (a render error, an object the server\n"+
		"would refuse, a cluster that cannot be asked).", errOut)
	sel.register(fs, "plan")
	kube.register(fs)
	fs.StringVar(&base, "base", "", "branch to compare with, as the daemon following it would (needs --repo)")
	fs.StringVar(&output, "o", "text", "output format: text, markdown or json")
	if err := sel.parse(fs, args); err != nil {
		return err
	}
	write, ok := map[string]func(io.Writer, *plan.Plan) error{"text": plan.WriteText, "markdown": plan.WriteMarkdown, "json": plan.WriteJSON}[output]
	if !ok {
		return &ExitError{Code: 2, Err: fmt.Errorf("-o %q: use text, markdown or json", output)}
	}
	if base != "" && sel.src.repo == "" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--base compares with a branch of --repo; it does not go with --dir")}
	}
	log := cliLogger(errOut)
	m, cutover, err := kube.manager(log)
	if err != nil {
		return err
	}
	req := plan.Request{Installation: sel.installation}
	var dir string
	if req.Head, dir, err = headSnapshot(ctx, &sel.src, base, log); err != nil {
		return err
	}
	if base != "" {
		b := sel.src
		b.ref = base
		snap, _, err := loadSnapshot(ctx, &b, log)
		if err != nil {
			return fmt.Errorf("base: %w", err)
		}
		// As the daemon following the base records itself as owner.
		if req.Source, err = source.Identity(sel.src.repo, base); err != nil {
			return err
		}
		req.Base = &snap
	}
	planner, err := plan.New(plan.Deps{Load: planLoader(sel.src.name(), dir), Renderer: render.NewRenderer(sel.src.render, log), Differ: m, Colours: cutover})
	if err != nil {
		return err
	}
	p, err := planner.Plan(ctx, req)
	if err != nil {
		return err
	}
	if err := write(out, p); err != nil {
		return err
	}
	switch s := p.Summary(); {
	case s.Failed():
		return &ExitError{Code: 2, Err: fmt.Errorf("cannot apply as it is: %s", p.Headline())}
	case s.Changes():
		return &ExitError{Code: 1}
	}
	return nil
}

// headSnapshot reads the directory (see loadSnapshot), or fetches --ref:
// a branch, tag or commit as a poller follows it, any other ref
// (refs/pull/N/head) by fetching it beside the base branch (main when none
// is given).
func headSnapshot(ctx context.Context, s *sourceFlags, base string, log *slog.Logger) (source.Snapshot, string, error) {
	if _, err := source.ParseRef(s.ref); err == nil || s.dir != "" || !strings.HasPrefix(s.ref, "refs/") {
		return loadSnapshot(ctx, s, log)
	}
	follow := *s
	follow.ref = base
	if base == "" {
		follow.ref = "main"
	}
	poller, err := source.NewPoller(follow.options(), log, source.NewMetrics())
	if err != nil {
		return source.Snapshot{}, "", err
	}
	snap, err := poller.FetchRef(ctx, s.ref, "")
	return snap, "", err
}
