package apply

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/render"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// IgnoreRule names fields of matching objects that gitopsd neither sets nor
// corrects. Empty selectors match every object.
type IgnoreRule struct {
	Group, Kind, Namespace, Name string
	// Paths are JSON pointers (RFC 6901) such as /spec/replicas.
	Paths []string
}

// Matches reports whether the rule applies to the object key.
func (r IgnoreRule) Matches(k render.Key) bool {
	return (r.Group == "" || r.Group == k.Group) && (r.Kind == "" || r.Kind == k.Kind) &&
		(r.Namespace == "" || r.Namespace == k.Namespace) && (r.Name == "" || r.Name == k.Name)
}

// ParsePointer splits a JSON pointer into its unescaped tokens.
func ParsePointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("JSON pointer %q must start with /", p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// removePath deletes the field at the JSON pointer tokens from obj; list
// elements are addressed by index. A path that is not there is no error.
func removePath(obj map[string]any, tokens []string) {
	var cur any = obj
	for i, t := range tokens {
		last := i == len(tokens)-1
		switch node := cur.(type) {
		case map[string]any:
			if last {
				delete(node, t)
				return
			}
			cur = node[t]
		case []any:
			idx, err := strconv.Atoi(t)
			if err != nil || idx < 0 || idx >= len(node) || last {
				return
			}
			cur = node[idx]
		default:
			return
		}
	}
}

// normalize removes from u what gitopsd must not own: fields of matching
// ignore rules, and the rules of an aggregated ClusterRole, which the
// aggregation controller fills in.
func normalize(u *unstructured.Unstructured, key render.Key, ignore []IgnoreRule) {
	for _, rule := range ignore {
		if !rule.Matches(key) {
			continue
		}
		for _, p := range rule.Paths {
			if tokens, err := ParsePointer(p); err == nil {
				removePath(u.Object, tokens)
			}
		}
	}
	if key.Group == "rbac.authorization.k8s.io" && key.Kind == "ClusterRole" && u.Object["aggregationRule"] != nil {
		delete(u.Object, "rules")
	}
}
