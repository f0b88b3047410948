package apply

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/render"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// Ignored lists the fields that ignore rules leave out of one object, each
// as the tokens of its JSON pointer. A managed field at or under one of
// them is neither taken over, reported nor corrected, whoever set it.
type Ignored [][]string

// IgnoredFields returns the fields rules leave out of the object key.
func IgnoredFields(rules []IgnoreRule, key render.Key) Ignored {
	var out Ignored
	for _, r := range rules {
		if !r.Matches(key) {
			continue
		}
		for _, p := range r.Paths {
			if tokens, err := ParsePointer(p); err == nil {
				out = append(out, tokens)
			}
		}
	}
	return out
}

// split parts a managed field set into the fields ig leaves out and the
// rest. content is the object, to find the index of a list element that a
// managed field names by its key; without it (nil) such a field cannot be
// told, stays in rest and sets maybe.
func (ig Ignored) split(set *fieldpath.Set, content any) (ignored, rest *fieldpath.Set, maybe bool) {
	ignored = &fieldpath.Set{}
	if len(ig) == 0 {
		return ignored, set, false
	}
	set.Iterate(func(p fieldpath.Path) {
		steps, complete := resolve(content, p)
		unsure := false
		for _, pointer := range ig {
			yes, unknown := covers(pointer, steps, complete)
			if yes {
				ignored.Insert(p)
				return
			}
			unsure = unsure || unknown
		}
		maybe = maybe || unsure
	})
	if ignored.Empty() {
		return ignored, set, maybe
	}
	return ignored, set.Difference(ignored), maybe
}

// without returns the serialised managed field set raw without the fields
// ig surely leaves out, telling them from the managed fields alone: raw
// itself when there are none, nil when nothing else is left.
func (ig Ignored) without(raw []byte) []byte {
	if len(ig) == 0 {
		return raw
	}
	set := &fieldpath.Set{}
	if set.FromJSON(bytes.NewReader(raw)) != nil {
		return raw
	}
	ignored, rest, _ := ig.split(set, nil)
	switch {
	case ignored.Empty():
		return raw
	case rest.Empty():
		return nil
	}
	out, err := rest.ToJSON()
	if err != nil {
		return raw
	}
	return out
}

// keepLive sets each ignored field of after to its value in live, or
// removes it when live has none, so that comparing the two passes over
// what gitopsd leaves alone. after is changed in place.
func (ig Ignored) keepLive(after, live map[string]any) {
	for _, tokens := range ig {
		parent, ok := lookup(after, tokens[:len(tokens)-1])
		if !ok {
			continue
		}
		last := tokens[len(tokens)-1]
		v, found := lookup(live, tokens)
		switch p := parent.(type) {
		case map[string]any:
			if found {
				p[last] = v
			} else {
				delete(p, last)
			}
		case []any:
			if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(p) && found {
				p[i] = v
			}
		}
	}
}

// lookup returns the value at the JSON pointer tokens in obj.
func lookup(obj any, tokens []string) (any, bool) {
	cur := obj
	for _, t := range tokens {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[t]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// step is one step of a path into an object: a field, or the element of a
// list at an index.
type step struct {
	field string
	index int // -1 for a field
}

func (s step) token() string {
	if s.index >= 0 {
		return strconv.Itoa(s.index)
	}
	return s.field
}

// resolve follows a managed field's path through content, finding the
// index of each list element the path names by its key or value. Without
// content, or when it has no such element, it stops there and complete is
// false.
func resolve(content any, p fieldpath.Path) (steps []step, complete bool) {
	cur := content
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			steps = append(steps, step{field: *pe.FieldName, index: -1})
			m, _ := cur.(map[string]any)
			cur = m[*pe.FieldName]
		case pe.Index != nil:
			steps = append(steps, step{index: *pe.Index})
			l, _ := cur.([]any)
			cur = nil
			if *pe.Index < len(l) {
				cur = l[*pe.Index]
			}
		default:
			l, _ := cur.([]any)
			i := slices.IndexFunc(l, func(e any) bool { return names(pe, e) })
			if i < 0 {
				return steps, false
			}
			steps = append(steps, step{index: i})
			cur = l[i]
		}
	}
	return steps, true
}

// names reports whether the list element e is the one pe names by its key
// fields or its value.
func names(pe fieldpath.PathElement, e any) bool {
	if pe.Value != nil {
		return value.Equals(value.NewValueInterface(e), *pe.Value)
	}
	m, ok := e.(map[string]any)
	if !ok || pe.Key == nil {
		return false
	}
	for _, f := range *pe.Key {
		v, ok := m[f.Name]
		if !ok || !value.Equals(value.NewValueInterface(v), f.Value) {
			return false
		}
	}
	return true
}

// covers reports whether pointer names the path of steps or one of its
// parents; maybe when the path was not resolved far enough to tell.
func covers(pointer []string, steps []step, complete bool) (yes, maybe bool) {
	for i, token := range pointer {
		if i == len(steps) {
			return false, !complete
		}
		if steps[i].token() != token {
			return false, false
		}
	}
	return true, false
}

// fieldName spells a managed field's path as drift reports name fields,
// such as spec.template.spec.containers[0].image: list elements by their
// index in content where it has them.
func fieldName(p fieldpath.Path, content any) string {
	steps, complete := resolve(content, p)
	var b strings.Builder
	for _, s := range steps {
		switch {
		case s.index >= 0:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case b.Len() > 0:
			b.WriteString("." + s.field)
		default:
			b.WriteString(s.field)
		}
	}
	if !complete {
		b.WriteString(p[len(steps):].String())
	}
	return b.String()
}
