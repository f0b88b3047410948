package app

import "github.com/gitopsd/gitopsd/internal/web"

// statusResponse is what the daemon tests read from the status API.
type statusResponse = web.Status
