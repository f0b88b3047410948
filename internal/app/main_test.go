package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/gitopsd/gitopsd/internal/testenv"
)

var env *testenv.Env

// TestMain runs the tests on a full plane, so that Deployments roll out; run
// as a daemon child (see startDaemon), the binary is gitopsd itself.
func TestMain(m *testing.M) {
	if os.Getenv(daemonChildEnv) != "" {
		runDaemonChild()
		return
	}
	testenv.Main(m, testenv.Full, &env)
}

// gitopsd runs the command line and returns stdout, stderr and the exit
// status main would use.
func gitopsd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Main(context.Background(), args, &out, &errOut)
	var exit *ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exit):
		code = exit.Code
		if exit.Err != nil {
			errOut.WriteString(exit.Err.Error())
		}
	default:
		code = 2
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}
