package bluegreen

// Log keys of this package, so that every line about one installation or
// pull request can be found with the same query.
const (
	logKeyInstallation = "installation"
	logKeyCommit       = "commit"
	logKeyPR           = "pull_request"
	logKeyErr          = "error"
)
