// Package daemontest holds what tests need around a gitopsd daemon they
// start, whether in-process, as a child process or as a library reconciler:
// a log Buffer the daemon writes while the test reads it, a FreeAddr for its
// HTTP server, and Poll and Eventually to wait for an outcome with a
// deadline instead of sleeping.
//
//	logs := &daemontest.Buffer{}
//	addr := daemontest.FreeAddr(t)
//	go app.Main(ctx, []string{"run", "--http-addr", addr}, logs, logs)
//	daemontest.Eventually(t, time.Minute, "the first apply", func() bool {
//		return strings.Contains(logs.String(), "applied")
//	})
package daemontest
