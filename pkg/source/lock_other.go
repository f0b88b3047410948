//go:build !unix

package source

import "context"

// lockFile is a no-op where flock is missing: Pollers sharing one cache
// repository are then the caller's to avoid.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
