package daemontest

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback address with a port free at the time of the
// call, for a daemon's --http-addr.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
