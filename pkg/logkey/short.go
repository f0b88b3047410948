package logkey

// shortSHALen is the length of a commit in messages: long enough to stay
// unique in a large repository, short enough to read.
const shortSHALen = 12

// ShortSHA returns the form a commit SHA takes in a message; fields keep the
// full SHA (see Commit).
func ShortSHA(sha string) string {
	if len(sha) > shortSHALen {
		return sha[:shortSHALen]
	}
	return sha
}
