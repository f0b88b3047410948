package render

// Log keys.
const (
	logKeyFile    = "file"
	logKeyWarning = "warning"
	logKeyStack   = "stack"
)
