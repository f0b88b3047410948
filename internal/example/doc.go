// Package example makes the example fleet repository whole: examples/repo
// with deploy/ copied in as the base of its gitopsd installation
// (examples/repo/platform/gitopsd), as a fleet repository holds a copy of
// the deploy/ of the gitopsd release it runs. A render never reaches outside
// the repository, so the copy is what lets gitopsd manage itself from Git
// without a second deploy/ in this tree to keep in step.
//
//	dir := t.TempDir()
//	err := example.Fleet(moduleRoot, dir) // dir/gitopsd.yaml, dir/platform/gitopsd/base/...
package example
