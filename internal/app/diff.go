package app

import (
	"context"
	"fmt"
	"io"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

func runDiff(ctx context.Context, args []string, out, errOut io.Writer) error {
	var (
		sel  selection
		kube kubeFlags
	)
	fs := newFlagSet("diff", "(--repo URL [--ref REF] | --dir DIR) [--installation NAME] [--kubeconfig PATH]\n\n"+
		"Shows what apply would change, by server-side dry run. Exit status: 0 no changes, 1 changes, 2 error.", errOut)
	sel.register(fs, "diff")
	kube.register(fs)
	if err := sel.parse(fs, args); err != nil {
		return err
	}
	log := cliLogger(errOut)
	m, err := kube.manager(log)
	if err != nil {
		return err
	}
	changes, failed := 0, 0
	err = sel.each(ctx, log, func(inst config.Installation, snap source.Snapshot, set *render.ObjectSet) error {
		diffs, err := m.Diff(ctx, applyRequest(inst, snap, set), applyOptions(inst))
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
		return nil
	})
	switch {
	case err != nil:
		return err
	case failed > 0:
		return &ExitError{Code: 2, Err: fmt.Errorf("%d object(s) would fail to apply", failed)}
	case changes > 0:
		return &ExitError{Code: 1}
	}
	return nil
}
