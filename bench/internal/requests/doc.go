// Package requests counts the requests a kube-apiserver served, by verb
// and resource, from its own apiserver_request_total: the benchmarks read
// the counters before and after a run and report the difference, so that
// every client's requests are counted, not only those of the client a
// benchmark can wrap.
//
//	before, err := requests.Read(ctx, env.Client.Discovery().RESTClient())
//	...
//	after, err := requests.Read(ctx, env.Client.Discovery().RESTClient())
//	writes := after.Sub(before).Writes()
package requests
