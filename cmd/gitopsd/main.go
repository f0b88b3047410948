// Command gitopsd is a GitOps reconciler daemon: it follows a Git repository of
// installation manifests and keeps a Kubernetes cluster in step with it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitopsd/gitopsd/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

// exitCode maps an error to the process exit status: 0 on success, the code an
// app.ExitError carries, and 2 for any other failure.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *app.ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintln(os.Stderr, "gitopsd:", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintln(os.Stderr, "gitopsd:", err)
	return 2
}
