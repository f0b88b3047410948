package app

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/gitopsd/gitopsd/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.API, &env) }

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
