//go:build !unix

package render

// captureStderr leaves standard error alone where descriptors cannot be
// swapped: kustomize's deprecation notices are printed as they are.
func captureStderr(func(string)) (stop func()) { return func() {} }
