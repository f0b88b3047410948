package plan

import (
	"fmt"
	"strings"
)

// Problems lists, a line each, what would make applying the plan fail: a
// broken gitopsd.yaml, render errors with their file and line, what the
// cluster would refuse (naming the object), and installations that could
// not be planned.
func (p *Plan) Problems() []string {
	var out []string
	if p.ConfigError != nil {
		out = append(out, "configuration error in "+p.ConfigError.Error())
	}
	for i := range p.Installations {
		in := &p.Installations[i]
		switch {
		case in.RenderError != nil:
			out = append(out, fmt.Sprintf("%s: render error in %v", in.Name, in.RenderError))
		case in.Refused != "":
			out = append(out, fmt.Sprintf("%s: refused: %s", in.Name, in.Refused))
		case in.Error != "":
			out = append(out, fmt.Sprintf("%s: not planned: %s", in.Name, in.Error))
		}
		for _, o := range in.Objects {
			if o.Action == Refuse {
				out = append(out, fmt.Sprintf("%s: %s refused: %s", in.Name, o.Key(), o.reason()))
			}
		}
	}
	return out
}

// reason is why the object is refused, without the object's name when the
// reason starts with it.
func (o Object) reason() string {
	key := o.Key().String()
	if r, ok := strings.CutPrefix(o.Reason, key+": "); ok {
		return r
	}
	return strings.TrimPrefix(o.Reason, key+" ")
}

// Headline is the plan in one line, for a commit status: what would be
// created, changed and deleted, or, when applying would fail, the first
// problem and how many there are.
func (p *Plan) Headline() string {
	problems := p.Problems()
	switch len(problems) {
	case 0:
		s := p.Summary()
		return fmt.Sprintf("%d to create, %d to change, %d to delete", s.Create, s.Change, s.Delete)
	case 1:
		return oneLine(problems[0])
	}
	return fmt.Sprintf("%d problems; %s", len(problems), oneLine(problems[0]))
}

// oneLine folds runs of white space, newlines included, into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
