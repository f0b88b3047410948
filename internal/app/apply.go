package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

func runApply(ctx context.Context, args []string, out, errOut io.Writer) error {
	var (
		sel                          selection
		kube                         kubeFlags
		dryRun, prune, wait, isEmpty bool
		timeout                      time.Duration
	)
	fs := newFlagSet("apply", "(--repo URL [--ref REF] | --dir DIR) [--installation NAME] [--kubeconfig PATH] [--dry-run] [--prune=false] [--wait] [--timeout D] [--allow-empty]\n\n"+
		"Reconciles once. Exit status: 0 success, 1 an object failed or was not healthy in time, 2 error.", errOut)
	sel.register(fs, "apply")
	kube.register(fs)
	fs.BoolVar(&dryRun, "dry-run", false, "send every change as a server-side dry run; change nothing")
	fs.BoolVar(&prune, "prune", true, "delete objects that left Git (installations with prune: false never prune)")
	fs.BoolVar(&wait, "wait", false, "wait until the applied objects are healthy")
	fs.DurationVar(&timeout, "timeout", 0, "how long --wait waits (default each installation's timeout)")
	fs.BoolVar(&isEmpty, "allow-empty", false, "let an installation that renders nothing prune everything it owns")
	if err := sel.parse(fs, args); err != nil {
		return err
	}
	log := cliLogger(errOut)
	m, err := kube.manager(log)
	if err != nil {
		return err
	}
	var failures []error
	err = sel.each(ctx, log, func(inst config.Installation, snap source.Snapshot, set *render.ObjectSet) error {
		if inst.BlueGreen != nil {
			// Its colours, cutover state and gate live in the daemon.
			fmt.Fprintf(out, "%s: skipped: a blue/green installation is applied and cut over by gitopsd run only\n", inst.Name)
			return nil
		}
		opts := applyOptions(inst)
		opts.DryRun, opts.AllowEmpty = dryRun, isEmpty
		opts.Prune = opts.Prune && prune
		cs, err := m.Apply(ctx, applyRequest(inst, snap, set), opts)
		if err != nil {
			return fmt.Errorf("installation %s: %w", inst.Name, err)
		}
		var waitErr error
		if wait {
			waitErr = m.Wait(ctx, cs, cmp.Or(timeout, inst.Timeout))
		}
		printChangeSet(out, cs, waitErr)
		failures = append(failures, cs.Err(), waitErr)
		return nil
	})
	if err != nil {
		return err
	}
	if errors.Join(failures...) != nil {
		return &ExitError{Code: 1}
	}
	return nil
}

// printChangeSet prints one installation's outcome as a table and a summary.
func printChangeSet(out io.Writer, cs *apply.ChangeSet, waitErr error) {
	commit := short(cs.Commit)
	if cs.Commit == "" {
		commit = "working tree"
	}
	fmt.Fprintf(out, "installation %s at %s\n", cs.Installation, commit)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  OBJECT\tACTION\tREASON")
	for _, c := range cs.Changes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Key, c.Action, c.Reason)
	}
	tw.Flush()
	fmt.Fprintf(out, "%s: %s in %s\n", cs.Installation, cs.Summary(), cs.Duration.Round(time.Millisecond))
	if waitErr != nil {
		fmt.Fprintf(out, "%s: not healthy: %v\n", cs.Installation, waitErr)
	}
	fmt.Fprintln(out)
}
