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
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/config"
	"github.com/gitopsd/gitopsd/pkg/reconcile"
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
	m, cutover, err := kube.manager(log)
	if err != nil {
		return err
	}
	var failures []error
	err = sel.each(ctx, log, func(inst config.Installation, snap source.Snapshot, set *render.ObjectSet) error {
		opts := applyOptions(inst)
		opts.DryRun, opts.AllowEmpty = dryRun, isEmpty
		opts.Prune = opts.Prune && prune
		if inst.BlueGreen != nil {
			a := &cliApplier{m: m, req: applyRequest(inst, snap, set), opts: opts, wait: wait, timeout: cmp.Or(timeout, inst.Timeout)}
			failures = append(failures, a.blueGreen(ctx, out, cutover, inst))
			return nil
		}
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

// cliApplier applies a blue/green installation's colours for the cutover,
// as the daemon's reconcile worker does, with the command's options.
type cliApplier struct {
	m       *apply.Manager
	req     apply.Request
	opts    apply.Options
	wait    bool
	timeout time.Duration
	cs      *apply.ChangeSet // the last apply's
}

var _ bluegreen.Applier = (*cliApplier)(nil)

func (a *cliApplier) Apply(ctx context.Context, objs *render.ObjectSet, keep map[render.Key]string) (*apply.ChangeSet, error) {
	req, opts := a.req, a.opts
	req.Objects, opts.Keep = objs, keep
	cs, err := a.m.Apply(ctx, req, opts)
	if err != nil {
		return cs, err
	}
	a.cs = cs
	return cs, cs.Err()
}

func (a *cliApplier) Wait(ctx context.Context, cs *apply.ChangeSet) error {
	if !a.wait {
		return nil
	}
	return a.m.Wait(ctx, cs, a.timeout)
}

// blueGreen reconciles a blue/green installation once, as the daemon
// does, keeping its cutover state in the cluster for the daemon: the
// first apply makes blue live, a change of the Deployment is cut over
// (waiting for the idle colour and the pre-cutover Job; held, without
// GitHub, when it needs a merged pull request). --dry-run applies what
// the cutover would apply first, as a dry run, and saves nothing.
func (a *cliApplier) blueGreen(ctx context.Context, out io.Writer, c *bluegreen.Cutover, inst config.Installation) error {
	in := bluegreen.Input{Installation: inst.Name, Namespace: inst.Namespace, Spec: reconcile.BlueGreenSpec(inst.BlueGreen),
		Commit: a.req.Commit, Objects: a.req.Objects, Timeout: a.timeout, Applier: a}
	var line string
	var err error
	if a.opts.DryRun {
		var pv *bluegreen.Preview
		if pv, err = c.Preview(ctx, in); err != nil {
			return fmt.Errorf("installation %s: %w", inst.Name, err)
		}
		_, err = a.Apply(ctx, pv.Objects, pv.Keep)
		line = pv.Message
	} else {
		res := c.Reconcile(ctx, in)
		line, err = string(res.Outcome), res.Err
		if s := res.Status; s != nil && s.Live != "" {
			line += ", live " + string(s.Live)
		}
		if res.Message != "" {
			line += ": " + res.Message
		}
	}
	if a.cs != nil {
		printChangeSet(out, a.cs, nil)
	}
	if err != nil {
		line += ": " + err.Error()
	}
	fmt.Fprintf(out, "%s: blue/green: %s\n\n", inst.Name, line)
	return err
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
