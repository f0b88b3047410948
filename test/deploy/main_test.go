package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitopsd/gitopsd/internal/image"
	"github.com/gitopsd/gitopsd/internal/testenv"
)

var (
	env *testenv.Env
	// gitopsd is the binary, built as make image builds the image's.
	gitopsd string
)

const version = "v0.0.0-deploytest"

// TestMain builds gitopsd, then runs the tests on a full plane so that the
// Deployment of deploy/ really makes Pods.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gitopsd-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	gitopsd = filepath.Join(dir, "gitopsd")
	opts := image.DefaultOptions()
	opts.Module = filepath.Join("..", "..")
	opts.Version, opts.Commit = version, "deploytest"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err = image.BuildBinary(ctx, opts, gitopsd)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
	env, err = testenv.Start(ctx, testenv.Options{Size: testenv.Full})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: start the full control plane: %v\n", err)
		return 1
	}
	defer env.Stop()
	return m.Run()
}
