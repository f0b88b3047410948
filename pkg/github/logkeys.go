package github

// Log keys of this package, so that every line about one pull request or
// delivery can be found with the same query.
const (
	logKeyErr        = "error"
	logKeyCall       = "call"
	logKeyWait       = "wait"
	logKeyLimit      = "limit"
	logKeyAttempt    = "attempt"
	logKeyEvent      = "event"
	logKeyDelivery   = "delivery"
	logKeyAction     = "action"
	logKeyPR         = "pull_request"
	logKeyRepository = "repository"
	logKeyRef        = "pushed_ref"
	logKeyHead       = "head_commit"
	logKeySuppressed = "suppressed"
	logKeyRemote     = "remote_addr"
	logKeyTokenFile  = "token_file"
	logKeyLeader     = "leader"
	logKeyResult     = "result"
)
