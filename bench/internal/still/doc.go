// Package still waits for a count to stop moving: the benchmarks use it to
// tell when a client's (or the API server's) requests have died down
// after an action, polling with a deadline rather than sleeping.
//
//	n, took, err := still.Wait(ctx, time.Second, 3*time.Second, time.Minute, countRequests)
package still
