package app

import (
	"context"
	"fmt"
	"io"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/render"
)

func runDiff(ctx context.Context, args []string, out, errOut io.Writer) error {
	var (
		src          sourceFlags
		kube         kubeFlags
		installation string
	)
	fs := newFlagSet("diff", "(--repo URL [--ref REF] | --dir DIR) [--installation NAME] [--kubeconfig PATH]\n\n"+
		"Shows what apply would change, by server-side dry run. Exit status: 0 no changes, 1 changes, 2 error.", errOut)
	src.register(fs)
	kube.register(fs)
	fs.StringVar(&installation, "installation", "", "diff only this installation (default all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := src.validate(); err != nil {
		return err
	}
	log := cliLogger(errOut)
	f, err := loadFleet(ctx, &src, log)
	if err != nil {
		return err
	}
	insts, err := f.installations(installation)
	if err != nil {
		return err
	}
	cfg, err := kube.config()
	if err != nil {
		return err
	}
	m, _, err := newManager(cfg, log)
	if err != nil {
		return err
	}
	r := render.NewRenderer(render.DefaultOptions())
	changes, failed := 0, 0
	for _, inst := range insts {
		set, err := f.render(ctx, r, inst)
		if err != nil {
			return err
		}
		diffs, err := m.Diff(ctx, applyRequest(inst, f.snapshot, set), applyOptions(inst))
		if err != nil {
			return fmt.Errorf("installation %s: %w", inst.Name, err)
		}
		for _, d := range diffs {
			changes++
			switch d.Action {
			case apply.Failed:
				failed++
				fmt.Fprintf(out, "# %s: %s would fail: %s\n", inst.Name, d.Key, d.Reason)
			case apply.Deleted:
				fmt.Fprintf(out, "# %s: %s would be pruned\n", inst.Name, d.Key)
			default:
				fmt.Fprintf(out, "# %s: %s would be %s\n%s", inst.Name, d.Key, d.Action, d.Diff)
			}
		}
	}
	switch {
	case failed > 0:
		return &ExitError{Code: 2, Err: fmt.Errorf("%d object(s) would fail to apply", failed)}
	case changes > 0:
		return &ExitError{Code: 1}
	}
	return nil
}
