package config

import "time"

// Defaults for fields an installation leaves out.
const (
	DefaultInterval = 10 * time.Minute
	DefaultTimeout  = 5 * time.Minute
	DefaultDrift    = DriftCorrect
	DefaultPrune    = true

	DefaultScaleDownDelay  = time.Hour
	DefaultRequireMergedPR = true
	DefaultAutoPromote     = true
)
