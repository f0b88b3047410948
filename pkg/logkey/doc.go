// Package logkey is the vocabulary of gitopsd's logs: the attribute keys
// every log line uses, so that one query (or one log-based alert) finds every
// line about an installation, a commit or a pull request, whichever package
// wrote it.
//
// Keys are snake_case and named after their value (Commit is "commit",
// RepoURL is "repo_url"). An error is always under Error. A commit SHA is
// full in a field and short, by ShortSHA, in a message:
//
//	log.Info("reconciled", logkey.Installation, inst.Name, logkey.Commit, commit)
//	log.Warn("sync failed", slog.String(logkey.Installation, name), slog.Any(logkey.Error, err))
//	setPhase(Held, "commit "+logkey.ShortSHA(commit)+" held")
//
// A test walks the repository's packages and fails on a log call whose key is
// not one of these constants, or on a constant that is not snake_case.
package logkey
