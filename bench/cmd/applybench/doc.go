// Command applybench measures gitopsd's apply engine against its peers,
// kubectl's server-side apply and Flux's (fluxcd/pkg/ssa), on one local
// control plane: a cold apply, a no-op re-apply, and a re-apply with one
// object changed, at each size asked for, timing each apply and counting its
// API requests. It prints a Markdown report and writes it as its section of
// RESULTS.md (the other sections are kept), and fails when an engine did not
// apply what it was given.
//
//	make bench                                  # from the repository root
//	go run ./cmd/applybench -n 1000 -reps 5     # from bench/
//	go run ./cmd/applybench -engines gitopsd -out '' -cpuprofile cpu.out
//
// It lives in its own module, so that Flux's engine and its dependencies stay
// out of gitopsd's go.mod.
package main
