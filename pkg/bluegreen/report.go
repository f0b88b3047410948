package bluegreen

// Reporter is told of every change of a cutover. Report must not block:
// the cutover does not wait for GitHub.
type Reporter interface {
	Report(installation string, spec Spec, a Attempt)
}
