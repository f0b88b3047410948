package bluegreen

import "time"

// Names gitopsd sets on the objects of a blue/green installation.
const (
	// LabelColour is added to the selector and pod template of each
	// coloured Deployment, and to the selector of the Services that follow
	// a colour.
	LabelColour = "gitopsd.io/colour"
	// AnnotationPreviousColour, AnnotationCommit and AnnotationPullRequest
	// record on each switched Service where its traffic came from: the
	// colour it selected before, and the commit and pull request of the
	// colour it selects now.
	AnnotationPreviousColour = "gitopsd.io/previous-colour"
	AnnotationCommit         = "gitopsd.io/commit"
	AnnotationPullRequest    = "gitopsd.io/pull-request"
	// LabelCutover names the cutover a pre-cutover Job runs for, as
	// INSTALLATION.NUMBER, so that earlier cutovers' Jobs can be found.
	LabelCutover = "gitopsd.io/cutover"
)

// Spec is an installation's blueGreen block of gitopsd.yaml, validated and
// with defaults applied (see reconcile.BlueGreenSpec).
type Spec struct {
	// Deployment names the Deployment of the render that runs in two
	// colours, as <Deployment>-blue and <Deployment>-green.
	Deployment string
	// Services select the live colour.
	Services []string
	// PreviewService, when set, selects the idle colour.
	PreviewService string
	// PreCutover, when set, names a Job of the render that is run, under a
	// name of its own for each cutover, before the switch; it must
	// complete.
	PreCutover string
	// ScaleDownDelay is how long the old colour stays at full size after
	// a switch, for an instant rollback.
	ScaleDownDelay time.Duration
	// RequireMergedPR cuts over only commits that a pull request merged
	// into the tracked branch made.
	RequireMergedPR bool
	// AutoPromote switches as soon as the new colour is ready; without it
	// the switch waits for `gitopsd promote`.
	AutoPromote bool
}

// ColouredName is the name of deployment's Deployment of colour c.
func ColouredName(deployment string, c Colour) string { return deployment + "-" + string(c) }
