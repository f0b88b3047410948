// Command steadybench measures what the real `gitopsd run` costs at rest.
// For each size, the daemon follows a Git repository on disk holding that
// many objects, each installation reconciled every 30s, on a local control
// plane (etcd and kube-apiserver) of its own; once every installation is
// Ready it is watched for a window of minutes in which only the periodic
// reconciles run:
//
//   - its requests, from the API server's own counters by verb, less those
//     an idle plane beside it served itself over the same window, in all
//     and per periodic reconcile, beside Flux's cost of one interval from
//     the apply benchmark's section of RESULTS.md;
//   - its memory: the peak resident set (VmHWM) through the initial sync
//     and through the window.
//
// It prints a Markdown report and writes it as its section of RESULTS.md
// (the other sections are kept).
//
//	make bench                                          # from the repository root
//	go run ./cmd/steadybench                            # from bench/: this section alone
//	go run ./cmd/steadybench -n 1000 -window 1m -out '' # a quick look
package main
