package plancheck

// Log keys of this package.
const (
	logKeyErr     = "error"
	logKeyPR      = "pull_request"
	logKeyHead    = "head_commit"
	logKeyBase    = "base_commit"
	logKeyState   = "state"
	logKeySummary = "summary"
	logKeyTook    = "took"
	// logKeyPlanning is the part of took spent fetching and planning.
	logKeyPlanning = "planning"
	logKeyContext  = "status_context"
)
