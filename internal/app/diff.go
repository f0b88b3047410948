package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/plan"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// planWriters render a plan, by -o.
var planWriters = map[string]func(io.Writer, *plan.Plan) error{
	"text": plan.WriteText,
	"json": plan.WriteJSON,
}

func runDiff(ctx context.Context, args []string, out, errOut io.Writer) error {
	var (
		sel    selection
		kube   kubeFlags
		output string
	)
	fs := newFlagSet("diff", "(--repo URL [--ref REF] | --dir DIR) [--installation NAME] [--kubeconfig PATH] [-o text|json]\n\n"+
		"Shows what apply would change, by server-side dry run. Exit status: 0 no changes, 1 changes,\n"+
		"2 error (a render error, an object the server would refuse, a cluster that cannot be asked).", errOut)
	sel.register(fs, "diff")
	kube.register(fs)
	fs.StringVar(&output, "o", "text", "output format: text or json")
	if err := sel.parse(fs, args); err != nil {
		return err
	}
	write, ok := planWriters[output]
	if !ok {
		return &ExitError{Code: 2, Err: fmt.Errorf("-o %q: use text or json", output)}
	}
	log := cliLogger(errOut)
	m, cutover, err := kube.manager(log)
	if err != nil {
		return err
	}
	snap, dir, err := loadSnapshot(ctx, &sel.src, log)
	if err != nil {
		return err
	}
	planner, err := plan.New(plan.Deps{Load: planLoader(sel.src.name(), dir), Renderer: render.NewRenderer(sel.src.render, log), Differ: m, Colours: cutover})
	if err != nil {
		return err
	}
	p, err := planner.Plan(ctx, plan.Request{Head: snap, Installation: sel.installation})
	if err != nil {
		return err
	}
	if err := write(out, p); err != nil {
		return err
	}
	switch s := p.Summary(); {
	case s.Failed():
		return &ExitError{Code: 2, Err: fmt.Errorf("cannot apply as it is: %s", s)}
	case s.Changes():
		return &ExitError{Code: 1}
	}
	return nil
}

// planLoader reads gitopsd.yaml for the planner; a repository without one
// is the installation called name, as is a --dir at dir (see loadSnapshot).
func planLoader(name, dir string) plan.Loader {
	return func(files fs.FS) ([]plan.Spec, error) {
		cfg, err := loadConfig(files, name, dir)
		var ce *config.Error
		if errors.As(err, &ce) {
			msg := ce.Err.Error()
			if ce.Field != "" {
				msg = ce.Field + ": " + msg
			}
			return nil, &plan.FileError{File: ce.File, Line: ce.Line, Message: msg}
		}
		if err != nil {
			return nil, err
		}
		specs := make([]plan.Spec, len(cfg.Installations))
		for i, inst := range cfg.Installations {
			specs[i] = plan.Spec{Name: inst.Name, Path: inst.Path, Namespace: inst.Namespace, Apply: applyOptions(inst)}
			if inst.BlueGreen != nil {
				bg := reconcile.BlueGreenSpec(inst.BlueGreen)
				specs[i].BlueGreen = &bg
			}
		}
		return specs, nil
	}
}
