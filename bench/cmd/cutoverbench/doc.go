// Command cutoverbench measures gitopsd's blue/green cutovers on a local
// control plane with controllers and kwok nodes, so that colours really
// become available:
//
//   - one blue/green installation (by default 3 replicas, 3 Services) in a
//     Git repository on disk, reconciled in process as `gitopsd run` wires
//     the reconciler and its cutovers;
//   - each round commits a new image and times, from watches, the idle
//     colour fully available to every Service switched; then it rolls
//     back and times the call to every Service on the old colour, and to
//     the EndpointSlices listing only the old colour's pods.
//
// It prints a Markdown report and writes it as its section of RESULTS.md
// (the other sections are kept).
//
//	make bench                                   # from the repository root
//	go run ./cmd/cutoverbench -rounds 3 -out ''  # from bench/
package main
