// Command planbench measures gitopsd's plan checks of pull requests on a
// local control plane (etcd and kube-apiserver), with the real daemon, a
// real Git server and the in-process GitHub fake:
//
//   - a fleet of installations (by default 5 of 100 objects) is served by
//     git http-backend and applied to the cluster as the daemon applies
//     it;
//   - `gitopsd run -target=plan,webhook` follows it with a token for
//     githubtest; a pull request changes every object of one installation
//     and is pushed to again and again (by default 20 times);
//   - each push is timed from its signed pull_request webhook to the final
//     commit status on its head, and the API server's requests during the
//     plan are counted from its own metrics;
//   - beside it, the same head is diffed as `flux diff kustomization`
//     does, one kustomization after another: per object a read and a
//     server-side dry run (fluxcd/pkg/ssa's ResourceManager.Diff), for
//     every installation, since Flux cannot tell which ones a change
//     affects; its requests are counted at the client.
//
// It prints a Markdown report and writes it as its section of RESULTS.md
// (the other sections are kept).
//
//	make bench                                   # from the repository root
//	go run ./cmd/planbench -pushes 5 -out ''     # from bench/
package main
