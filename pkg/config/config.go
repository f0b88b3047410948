package config

import (
	"reflect"
	"time"

	"github.com/gitopsd/gitopsd/pkg/schedule"
)

// FileName is the name of the configuration file at the repository root.
const FileName = "gitopsd.yaml"

// DriftPolicy says what to do when a managed object drifts from Git.
type DriftPolicy string

const (
	// DriftCorrect puts Git's state back (the default).
	DriftCorrect DriftPolicy = "correct"
	// DriftReport only reports drift.
	DriftReport DriftPolicy = "report"
)

// Config is a validated gitopsd.yaml with defaults applied.
type Config struct {
	// File is the file the configuration came from; empty when the
	// repository has none and is one implicit installation.
	File          string
	Installations []Installation
}

// Installation is one kustomize directory (or directory of plain YAML)
// applied to the cluster as a unit.
type Installation struct {
	// Name identifies the installation; it labels every object applied
	// (gitopsd.io/installation) and names its inventory.
	Name string
	// Path is the installation's directory, relative to the repository
	// root, slash-separated and cleaned ("." for the root).
	Path string
	// Namespace is set on namespaced objects that have none; empty keeps
	// the objects as rendered.
	Namespace string
	// Prune deletes objects that left Git.
	Prune bool
	// Drift is what happens when a managed object is changed out of band.
	Drift DriftPolicy
	// Interval is how often the installation is reconciled even when Git
	// did not change.
	Interval time.Duration
	// Timeout bounds the wait for applied objects to become healthy.
	Timeout time.Duration
	// Ignore lists fields gitopsd neither sets, reports nor corrects.
	Ignore []IgnoreRule
	// Windows say when changes may apply; none means always. For a
	// blue/green installation they hold the switch of a cutover.
	Windows schedule.Windows
	// BlueGreen, when set, runs one Deployment of the installation in two
	// colours and moves traffic between them by cutovers.
	BlueGreen *BlueGreen
}

// BlueGreen is an installation's blueGreen block.
type BlueGreen struct {
	// Deployment names the Deployment of the render that runs in two
	// colours.
	Deployment string
	// Services select the live colour; PreviewService, when set, the idle
	// one.
	Services       []string
	PreviewService string
	// PreCutover, when set, names a Job of the render run before each
	// switch.
	PreCutover string
	// ScaleDownDelay is how long the old colour stays at full size.
	ScaleDownDelay time.Duration
	// RequireMergedPR cuts over only commits a merged pull request made.
	RequireMergedPR bool
	// AutoPromote switches without waiting for gitopsd promote.
	AutoPromote bool
}

// Equal reports whether two installations are configured alike.
func (inst Installation) Equal(other Installation) bool { return reflect.DeepEqual(inst, other) }

// IgnoreRule names fields, as JSON pointers, of the objects it selects.
// Empty selectors match every object of the kind.
type IgnoreRule struct {
	Group, Kind, Namespace, Name string
	Paths                        []string
}

// Installation returns the installation called name.
func (c *Config) Installation(name string) (Installation, bool) {
	for _, inst := range c.Installations {
		if inst.Name == name {
			return inst, true
		}
	}
	return Installation{}, false
}

// Names lists the installations' names in file order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Installations))
	for i, inst := range c.Installations {
		names[i] = inst.Name
	}
	return names
}
