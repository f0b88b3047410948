package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkSchema reports, against the yaml tags of t, every unknown or repeated
// field and every value of the wrong shape in n, so that a typo is an error
// with its line instead of a silently ignored setting.
func checkSchema(n *yaml.Node, t reflect.Type, field string, report func(n *yaml.Node, field string, err error)) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			report(n, field, fmt.Errorf("want a mapping of %s", strings.Join(fieldNames(t), ", ")))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			sub := joinField(field, key.Value)
			if line, dup := seen[key.Value]; dup {
				report(key, sub, fmt.Errorf("repeated; first set on line %d", line))
				continue
			}
			seen[key.Value] = key.Line
			f, ok := fieldByTag(t, key.Value)
			if !ok {
				report(key, sub, fmt.Errorf("unknown field; known fields are %s", strings.Join(fieldNames(t), ", ")))
				continue
			}
			checkSchema(value, f.Type, sub, report)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			report(n, field, fmt.Errorf("want a list"))
			return
		}
		for i, item := range n.Content {
			checkSchema(item, t.Elem(), fmt.Sprintf("%s[%d]", field, i), report)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			report(n, field, fmt.Errorf("want true or false, got %s", describe(n)))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			report(n, field, fmt.Errorf("want a single value, got %s", describe(n)))
		}
	}
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tagName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := tagName(t.Field(i)); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func joinField(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
