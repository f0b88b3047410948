package plan

import (
	"fmt"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/render"
)

// Plan is what applying a commit of a fleet would do to the cluster.
type Plan struct {
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`
	// Commit is the commit planned; empty for a working tree.
	Commit string `json:"commit,omitempty"`
	// Base is the commit the plan was compared with; empty when every
	// installation was planned.
	Base string `json:"base,omitempty"`
	// ConfigError is a mistake in gitopsd.yaml; then nothing was planned.
	ConfigError *FileError `json:"configError,omitempty"`
	// Installations are the installations planned, in gitopsd.yaml's
	// order, followed by those the commit removes.
	Installations []Installation `json:"installations"`
	// Unaffected names the installations that render alike at Base and
	// Commit and were therefore not planned.
	Unaffected []string `json:"unaffected,omitempty"`
}

// Installation is the plan of one installation: a render error, an error
// asking the cluster, or the objects that would change.
type Installation struct {
	Name      string `json:"name"`
	Path      string `json:"path,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Reason says why a plan compared with a base includes it.
	Reason Reason `json:"reason,omitempty"`
	// RenderError is a mistake in the installation's files.
	RenderError *FileError `json:"renderError,omitempty"`
	// Error says why the cluster could not tell what would change (it
	// was unreachable, say); the repository is not at fault.
	Error string `json:"error,omitempty"`
	// Refused says why the whole installation would be refused: another
	// source (another daemon) owns it.
	Refused string `json:"refused,omitempty"`
	// BlueGreen says, for a blue/green installation, what would happen to
	// its colours; its Objects are then the coloured ones the daemon
	// would apply.
	BlueGreen *BlueGreen `json:"blueGreen,omitempty"`
	// Objects are the objects that would change or be refused, in apply
	// order, followed by those that would be pruned.
	Objects []Object `json:"objects,omitempty"`
	// Unchanged counts the rendered objects that would stay as they are.
	Unchanged int `json:"unchanged"`
}

// BlueGreen is what a commit would do to a blue/green installation's
// colours, as bluegreen.Preview tells.
type BlueGreen struct {
	// Change is first-apply, cutover, continue, resize or none.
	Change bluegreen.Change `json:"change"`
	// Live is the colour that serves now; From and To a cutover's.
	Live    bluegreen.Colour `json:"live,omitempty"`
	From    bluegreen.Colour `json:"from,omitempty"`
	To      bluegreen.Colour `json:"to,omitempty"`
	Message string           `json:"message"`
}

// Reason is why an installation differs between a base and a commit.
type Reason string

const (
	// Added: the commit's gitopsd.yaml lists it and the base's does not.
	Added Reason = "added"
	// Removed: the base lists it and the commit does not; what it owns
	// would be pruned (when it prunes).
	Removed Reason = "removed"
	// Reconfigured: its entry in gitopsd.yaml changed.
	Reconfigured Reason = "reconfigured"
	// Rerendered: its files render to different objects.
	Rerendered Reason = "rerendered"
)

// Object is what would happen to one object.
type Object struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    Action `json:"action"`
	// Diff is a unified diff from the live object to the result of a
	// server-side dry run, without what the server maintains (status,
	// managedFields, resourceVersion and such). Secret values are masked.
	Diff string `json:"diff,omitempty"`
	// Reason is why the server would refuse the object, or why it would
	// be kept.
	Reason string `json:"reason,omitempty"`
	// SecretKeys are, for a Secret, the keys of its data that would be
	// added, changed or removed; their values are never kept.
	SecretKeys []SecretKey `json:"secretKeys,omitempty"`
}

// SecretKey is a key of a Secret's data and what would happen to it:
// added, changed or removed.
type SecretKey struct {
	Key    string          `json:"key"`
	Change apply.KeyChange `json:"change"`
}

// Key identifies the object.
func (o Object) Key() render.Key {
	return render.Key{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Action is what applying would do to an object.
type Action string

const (
	Create Action = "create"
	Change Action = "change"
	Delete Action = "delete"
	// Refuse: the server would not accept the object (validation,
	// admission, an immutable field, another owner).
	Refuse Action = "refuse"
	// Keep: the object left Git but would not be pruned, for the reason
	// given (a Namespace holding objects of another installation); the
	// prune is tried again at each apply.
	Keep Action = "keep"
)

// FileError is a mistake in the repository's files, at a file and, when
// known, a line.
type FileError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

// Summary counts what a plan, or one installation of it, would do.
type Summary struct {
	Create    int `json:"create"`
	Change    int `json:"change"`
	Delete    int `json:"delete"`
	Unchanged int `json:"unchanged"`
	Refused   int `json:"refused,omitempty"`
	// RenderErrors counts the installations that failed to render, and
	// a broken gitopsd.yaml.
	RenderErrors int `json:"renderErrors,omitempty"`
	// Errors counts the installations that could not be planned.
	Errors int `json:"errors,omitempty"`
}

// Summary counts the installation's objects.
func (in *Installation) Summary() Summary {
	s := Summary{Unchanged: in.Unchanged}
	if in.RenderError != nil {
		s.RenderErrors++
	}
	if in.Error != "" {
		s.Errors++
	}
	if in.Refused != "" {
		s.Refused++
	}
	for _, o := range in.Objects {
		switch o.Action {
		case Create:
			s.Create++
		case Change:
			s.Change++
		case Delete:
			s.Delete++
		case Refuse:
			s.Refused++
		}
	}
	return s
}

// Summary adds up the installations.
func (p *Plan) Summary() Summary {
	var s Summary
	if p.ConfigError != nil {
		s.RenderErrors++
	}
	for i := range p.Installations {
		in := p.Installations[i].Summary()
		s.Create += in.Create
		s.Change += in.Change
		s.Delete += in.Delete
		s.Unchanged += in.Unchanged
		s.Refused += in.Refused
		s.RenderErrors += in.RenderErrors
		s.Errors += in.Errors
	}
	return s
}

// Changes reports whether anything would be created, changed or deleted.
func (s Summary) Changes() bool { return s.Create+s.Change+s.Delete > 0 }

// Failed reports whether applying would fail: an object refused, a render
// error, or an installation that could not be planned.
func (s Summary) Failed() bool { return s.Refused+s.RenderErrors+s.Errors > 0 }

// String is a one-line account such as "2 to create, 1 to change, 0 to
// delete, 10 unchanged", followed by what failed.
func (s Summary) String() string {
	parts := []string{fmt.Sprintf("%d to create, %d to change, %d to delete, %d unchanged", s.Create, s.Change, s.Delete, s.Unchanged)}
	if s.Refused > 0 {
		parts = append(parts, fmt.Sprintf("%d refused", s.Refused))
	}
	if s.RenderErrors == 1 {
		parts = append(parts, "1 render error")
	} else if s.RenderErrors > 1 {
		parts = append(parts, fmt.Sprintf("%d render errors", s.RenderErrors))
	}
	if s.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d not planned", s.Errors))
	}
	return strings.Join(parts, ", ")
}
