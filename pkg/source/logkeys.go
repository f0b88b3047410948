package source

// Log keys, shared so that every line about one repository can be found
// with the same query.
const (
	logKeyURL      = "url"
	logKeyRef      = "ref"
	logKeyCommit   = "commit"
	logKeyPrevious = "previous_commit"
	logKeyErr      = "err"
	logKeyReason   = "reason"
	logKeyDuration = "duration"
	logKeyNextPoll = "next_poll"
	logKeyFailures = "consecutive_failures"
	logKeyCacheDir = "cache_dir"
)
