package plan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"strconv"

	"github.com/gitopsd/gitopsd/pkg/apply"
	"github.com/gitopsd/gitopsd/pkg/bluegreen"
	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
)

// Spec is what the planner needs to know of one installation.
type Spec struct {
	Name, Path, Namespace string
	// Apply holds the engine options the installation is applied with:
	// prune and ignore rules.
	Apply apply.Options
	// BlueGreen is set for a blue/green installation: its render is
	// planned as the daemon would colour it.
	BlueGreen *bluegreen.Spec
}

// Loader reads the installations of a commit's files (gitopsd.yaml). A
// mistake in the files is a *FileError.
type Loader func(files fs.FS) ([]Spec, error)

// Renderer renders one installation's directory at a commit.
type Renderer interface {
	Render(ctx context.Context, repo fs.FS, commit, dir string) (*render.ObjectSet, error)
}

// Differ tells, by server-side dry run, what applying would change.
type Differ interface {
	Diff(ctx context.Context, req apply.Request, opts apply.Options) ([]apply.ObjectDiff, error)
}

// Colours tells what the daemon would apply for a blue/green
// installation's render, given the cutover state in the cluster.
type Colours interface {
	Preview(ctx context.Context, in bluegreen.Input) (*bluegreen.Preview, error)
}

var (
	_ Renderer = (*render.Renderer)(nil)
	_ Differ   = (*apply.Manager)(nil)
	_ Colours  = (*bluegreen.Cutover)(nil)
)

// Deps are what a Planner works with.
type Deps struct {
	Load     Loader
	Renderer Renderer
	Differ   Differ
	// Colours plans blue/green installations; without it they are not
	// planned.
	Colours Colours
}

// Planner plans commits of one fleet against one cluster.
type Planner struct {
	deps Deps
}

// New returns a Planner.
func New(deps Deps) (*Planner, error) {
	switch {
	case deps.Load == nil:
		return nil, errors.New("plan: no loader of gitopsd.yaml")
	case deps.Renderer == nil:
		return nil, errors.New("plan: no renderer")
	case deps.Differ == nil:
		return nil, errors.New("plan: no differ")
	}
	return &Planner{deps: deps}, nil
}

// Request says what to plan.
type Request struct {
	// Head is the commit to plan, or a working tree (no Commit).
	Head source.Snapshot
	// Base, when set, limits the plan to the installations that differ
	// from it: added, removed or reconfigured in gitopsd.yaml, or
	// rendering to other objects (a render error always counts).
	Base *source.Snapshot
	// Installation limits the plan to one installation; empty plans all.
	Installation string
	// Source is who applies the repository: the repository and ref a
	// daemon follows. An installation whose inventory another source owns
	// is refused, as applying it would be. Empty claims nothing.
	Source string
}

// Plan renders the installations of req.Head and dry-runs them against the
// cluster. Mistakes in the repository and errors asking the cluster are in
// the plan; the error is for a request that cannot be planned (an unknown
// installation, a gitopsd.yaml that cannot be read, ctx ended).
func (p *Planner) Plan(ctx context.Context, req Request) (*Plan, error) {
	out := &Plan{Repository: req.Head.URL, Ref: req.Head.Ref, Commit: req.Head.Commit, Installations: []Installation{}}
	head, err := p.load(req.Head.Files)
	if fe := fileError(err); fe != nil {
		out.ConfigError = fe
		return out, nil
	} else if err != nil {
		return nil, err
	}
	var base []Spec
	if req.Base != nil {
		out.Base = req.Base.Commit
		// A base that cannot be read compares as empty: everything is
		// added.
		base, _ = p.load(req.Base.Files)
	}
	// The installations the head holds: those another installation of the
	// same source may hand its objects to (apply.Request.Fleet).
	fleet := make([]string, len(head))
	for i, spec := range head {
		fleet[i] = spec.Name
	}
	head, base, err = only(req.Installation, fleet, head, base)
	if err != nil {
		return nil, err
	}
	for _, spec := range head {
		in, ok := p.installation(ctx, req, fleet, spec, find(base, spec.Name))
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ok {
			out.Installations = append(out.Installations, in)
		} else {
			out.Unaffected = append(out.Unaffected, spec.Name)
		}
	}
	for _, spec := range base {
		if find(head, spec.Name) == nil {
			out.Installations = append(out.Installations, p.removal(ctx, req, fleet, spec))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *Planner) load(files fs.FS) ([]Spec, error) {
	if files == nil {
		return nil, errors.New("plan: a snapshot without files")
	}
	return p.deps.Load(files)
}

// installation plans one installation of the head; false when it renders
// as at the base.
func (p *Planner) installation(ctx context.Context, req Request, fleet []string, spec Spec, base *Spec) (Installation, bool) {
	in := Installation{Name: spec.Name, Path: spec.Path, Namespace: spec.Namespace}
	set, err := p.deps.Renderer.Render(ctx, req.Head.Files, req.Head.Commit, spec.Path)
	if req.Base != nil {
		switch {
		case base == nil:
			in.Reason = Added
		case !reflect.DeepEqual(spec, *base):
			in.Reason = Reconfigured
		case err != nil || p.rendersOtherwise(ctx, req.Base, spec, set):
			in.Reason = Rerendered
		default:
			return in, false
		}
	}
	if err != nil {
		if fe := fileError(err); fe != nil {
			in.RenderError = fe
		} else {
			in.Error = fmt.Sprintf("render: %v", err)
		}
		return in, true
	}
	ar, opts := apply.Request{Installation: spec.Name, Namespace: spec.Namespace, Source: req.Source, Fleet: fleet, Commit: req.Head.Commit, Objects: set}, spec.Apply
	if spec.BlueGreen != nil && !p.colour(ctx, &in, spec, &ar, &opts) {
		return in, true
	}
	p.diff(ctx, &in, ar, opts)
	return in, true
}

// colour turns a blue/green installation's request into the colours the
// daemon would apply and says what would happen to them; false when it
// cannot be planned.
func (p *Planner) colour(ctx context.Context, in *Installation, spec Spec, req *apply.Request, opts *apply.Options) bool {
	if p.deps.Colours == nil {
		in.Error = "a blue/green installation cannot be planned without its cutover state"
		return false
	}
	pv, err := p.deps.Colours.Preview(ctx, bluegreen.Input{Installation: spec.Name, Namespace: spec.Namespace, Spec: *spec.BlueGreen, Commit: req.Commit, Objects: req.Objects})
	var bad *bluegreen.SpecError
	switch {
	case errors.As(err, &bad):
		// The blueGreen block names what the installation's render lacks.
		in.RenderError = &FileError{File: spec.Path, Message: err.Error()}
		return false
	case err != nil:
		in.Error = err.Error()
		return false
	}
	in.BlueGreen = &BlueGreen{Change: pv.Change, Live: pv.Live, From: pv.From, To: pv.To, Message: pv.Message}
	req.Objects, opts.Keep = pv.Objects, pv.Keep
	return true
}

// rendersOtherwise reports whether spec renders at base to other objects
// than set.
func (p *Planner) rendersOtherwise(ctx context.Context, base *source.Snapshot, spec Spec, set *render.ObjectSet) bool {
	old, err := p.deps.Renderer.Render(ctx, base.Files, base.Commit, spec.Path)
	return err != nil || old.Digest != set.Digest
}

// removal plans an installation the head no longer lists: what it owns is
// pruned when it prunes.
func (p *Planner) removal(ctx context.Context, req Request, fleet []string, spec Spec) Installation {
	in := Installation{Name: spec.Name, Path: spec.Path, Namespace: spec.Namespace, Reason: Removed}
	opts := spec.Apply
	opts.AllowEmpty = true
	p.diff(ctx, &in, apply.Request{Installation: spec.Name, Namespace: spec.Namespace, Source: req.Source, Fleet: fleet, Commit: req.Head.Commit, Objects: &render.ObjectSet{}}, opts)
	return in
}

// diff asks the cluster what applying req would change.
func (p *Planner) diff(ctx context.Context, in *Installation, req apply.Request, opts apply.Options) {
	diffs, err := p.deps.Differ.Diff(ctx, req, opts)
	var owned *apply.OwnershipError
	switch {
	case errors.As(err, &owned):
		in.Refused = err.Error()
		return
	case err != nil:
		in.Error = err.Error()
		return
	}
	changed := 0
	for _, d := range diffs {
		o := Object{
			Group: d.Key.Group, Kind: d.Key.Kind, Namespace: d.Key.Namespace, Name: d.Key.Name,
			Action: actions[d.Action], Diff: d.Diff, Reason: d.Reason,
		}
		for _, k := range d.SecretKeys {
			o.SecretKeys = append(o.SecretKeys, SecretKey{Key: k.Key, Change: k.Change})
		}
		if o.Action == "" {
			o.Action, o.Reason = Refuse, fmt.Sprintf("unexpected outcome %q: %s", d.Action, d.Reason)
		}
		if o.Action != Delete && o.Action != Keep {
			changed++
		}
		in.Objects = append(in.Objects, o)
	}
	in.Unchanged = len(req.Objects.Objects) - changed
}

var actions = map[apply.Action]Action{
	apply.Created:    Create,
	apply.Configured: Change,
	apply.Deleted:    Delete,
	apply.Failed:     Refuse,
	apply.Skipped:    Keep,
}

// only keeps the installation called name in head and base, or all when
// name is empty; fleet names head's installations.
func only(name string, fleet []string, head, base []Spec) ([]Spec, []Spec, error) {
	if name == "" {
		return head, base, nil
	}
	h, b := find(head, name), find(base, name)
	if h == nil && b == nil {
		return nil, nil, fmt.Errorf("no installation %q; the repository has %v", name, fleet)
	}
	var hs, bs []Spec
	if h != nil {
		hs = []Spec{*h}
	}
	if b != nil {
		bs = []Spec{*b}
	}
	return hs, bs, nil
}

func find(specs []Spec, name string) *Spec {
	for i := range specs {
		if specs[i].Name == name {
			return &specs[i]
		}
	}
	return nil
}

// fileError is err as a mistake in a file, or nil.
func fileError(err error) *FileError {
	if err == nil {
		return nil
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	var re *render.Error
	if errors.As(err, &re) {
		file, line := splitLine(re.Path)
		return &FileError{File: file, Line: line, Message: re.Err.Error()}
	}
	return nil
}

var lineSuffix = regexp.MustCompile(`^(.+):(\d+)$`)

// splitLine splits render's "file:line" paths.
func splitLine(path string) (string, int) {
	m := lineSuffix.FindStringSubmatch(path)
	if m == nil {
		return path, 0
	}
	line, _ := strconv.Atoi(m[2])
	return m[1], line
}
