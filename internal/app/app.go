package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ExitError asks main to exit with Code; Err, when set, is printed first.
// Commands whose exit status carries meaning (diff: 1 means "changes") use it.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// command is one subcommand of gitopsd.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out, errOut io.Writer) error
}

// commands lists the subcommands; help derives its text from it.
func commands() map[string]command {
	return map[string]command{
		"version":  {"print the version, commit and Go version", runVersion},
		"render":   {"print the rendered objects of a repository's installations", runRender},
		"diff":     {"show what apply would change, by server-side dry run", runDiff},
		"plan":     {"show what a commit or pull request would change, as its plan check says", runPlan},
		"apply":    {"reconcile once: apply, prune, and optionally wait for health", runApply},
		"run":      {"run the daemon: follow a repository and keep the cluster in step", runRun},
		"status":   {"show the installations of a running daemon", runStatus},
		"promote":  {"release a held blue/green cutover or a rollback's hold, or retry a failed one", runPromote},
		"rollback": {"switch a blue/green installation back to the colour its last cutover left", runRollback},
		"help":     {"show this help", runHelp},
	}
}

// Main runs the subcommand named by args[0] with the rest of args.
func Main(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		_ = runHelp(ctx, nil, errOut, errOut)
		return &ExitError{Code: 2}
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := commands()[name]
	if !ok {
		return fmt.Errorf("unknown command %q; run 'gitopsd help' for the list", args[0])
	}
	return cmd.run(ctx, args[1:], out, errOut)
}

func runHelp(_ context.Context, _ []string, out, _ io.Writer) error {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("gitopsd keeps a Kubernetes cluster in step with a Git repository.\n\nUsage: gitopsd <command> [flags]\n\nCommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", name, cmds[name].summary)
	}
	b.WriteString("\nRun 'gitopsd <command> -h' for the flags of a command.\n")
	_, err := io.WriteString(out, b.String())
	return err
}
