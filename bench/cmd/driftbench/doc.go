// Command driftbench measures gitopsd's drift detection on local control
// planes (etcd and kube-apiserver):
//
//   - detection latency: a set of objects is applied with apply.Manager and
//     tracked by a drift.Detector, wired as the daemon wires them; then
//     out-of-band changes (edits, a scale, a delete, a label removal) are
//     made one at a time, each timed from the moment its write returns to
//     the detector's report of that object;
//   - a no-op reconcile: the unchanged set applied and tracked again, as
//     the daemon does every interval, and the drift checks that follow;
//   - API requests while nothing changes: the detector's and the checks'
//     requests over a quiet window, object reads apart from watches.
//
// Every size gets a control plane of its own, so that no measurement sees
// another's objects. It prints a Markdown report and writes it as its
// section of RESULTS.md (the other sections are kept).
//
//	make bench                                            # from the repository root
//	go run ./cmd/driftbench -n 1000 -changes 20 -out ''    # from bench/
//
// The daemon as a whole (`gitopsd run` at rest, its requests and memory)
// is measured by cmd/steadybench.
package main
