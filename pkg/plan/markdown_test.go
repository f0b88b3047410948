package plan

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// bigPlan is a plan of n ConfigMaps changed, each with a diff of some
// lines, in one installation beside a broken one.
func bigPlan(n int) *Plan {
	web := Installation{Name: "web", Path: "web", Reason: Rerendered, Unchanged: 3}
	for i := range n {
		name := fmt.Sprintf("cm-%05d", i)
		web.Objects = append(web.Objects, Object{Kind: "ConfigMap", Namespace: "web", Name: name, Action: Change,
			Diff: fmt.Sprintf("--- live/ConfigMap/web/%s\n+++ git/ConfigMap/web/%s\n@@ -1,3 +1,3 @@\n data:\n-  k: v1\n+  k: v2\n", name, name)})
	}
	web.Objects = append(web.Objects, Object{Kind: "ConfigMap", Namespace: "web", Name: "gone", Action: Delete})
	broken := Installation{Name: "broken", Path: "broken", Reason: Rerendered,
		RenderError: &FileError{File: "broken/kustomization.yaml", Line: 2, Message: "accumulating resources: missing.yaml not found"}}
	return &Plan{Commit: strings.Repeat("a", 40), Base: strings.Repeat("b", 40), Installations: []Installation{web, broken}, Unaffected: []string{"db"}}
}

// TestMarkdownStaysUnderTheLimit: 5000 changed objects make one text under
// GitHub's 65,536 characters, the summary and the problems first, cut
// after a whole object, saying how many objects are not shown and where
// to see them.
func TestMarkdownStaysUnderTheLimit(t *testing.T) {
	const limit = 65536 - 30
	p := bigPlan(5000)
	md := Markdown(p, MarkdownOptions{Title: "gitopsd plan · cluster prod", Limit: limit, More: "Run `gitopsd plan` to see them all."})
	if n := utf8.RuneCountInString(md); n > limit {
		t.Fatalf("%d characters, over %d", n, limit)
	}
	if !strings.HasPrefix(md, "### gitopsd plan · cluster prod\n\n❌ **0 to create, 5000 to change, 1 to delete, 3 unchanged, 1 render error** at `aaaaaaaaaaaa`, against `bbbbbbbbbbbb`.\n") {
		t.Errorf("the text does not start with the summary:\n%s", md[:300])
	}
	for _, part := range []string{
		"| `web` (rerendered) | 📝 changes | 0 | 5000 | 1 | 3 |\n",
		"| `broken` (rerendered) | ❌ render error | | | | |\n",
		"Not affected: `db`.",
		"- broken: render error in broken/kustomization.yaml:2: accumulating resources: missing.yaml not found\n",
	} {
		if !strings.Contains(md, part) {
			t.Errorf("no %q", part)
		}
	}
	shown := strings.Count(md, "<details>")
	if shown < 100 || shown >= 5000 || strings.Count(md, "</details>") != shown {
		t.Fatalf("%d objects shown, %d closed", shown, strings.Count(md, "</details>"))
	}
	footer := fmt.Sprintf("**%d of 5001 objects are not shown** to keep this comment within GitHub's limit. Run `gitopsd plan` to see them all.\n", 5001-shown)
	if !strings.HasSuffix(md, footer) {
		t.Errorf("the text does not end with %q:\n%s", footer, md[len(md)-400:])
	}
	// Cut at an object boundary: the last block shown is whole.
	if last := md[:strings.LastIndex(md, "\n---\n")]; !strings.HasSuffix(last, "</details>\n") {
		t.Errorf("the last object is cut:\n%s", last[len(last)-300:])
	}

	all := Markdown(p, MarkdownOptions{})
	if strings.Count(all, "<details>") != 5000 || !strings.Contains(all, "- 🗑️ delete <code>ConfigMap/web/gone</code>\n") || strings.Contains(all, "not shown") {
		t.Errorf("without a limit every object shows")
	}
}

// TestMarkdownEscapes: a diff holding a code fence cannot close its block,
// and free text cannot inject HTML or break a line.
func TestMarkdownEscapes(t *testing.T) {
	p := &Plan{Commit: "c1", Installations: []Installation{{
		Name: "web",
		Objects: []Object{
			{Kind: "ConfigMap", Namespace: "web", Name: "doc", Action: Create, Diff: "+  readme: |\n+    ```\n+    </details><script>x</script>\n+    ````\n"},
			{Kind: "Job", Namespace: "web", Name: "migrate", Action: Refuse, Reason: "Job/web/migrate: spec.template: Invalid value: <b>x</b>\n| field is immutable"},
		},
	}}}
	md := Markdown(p, MarkdownOptions{})
	if !strings.Contains(md, "`````diff\n") || !strings.Contains(md, "\n`````\n\n</details>") {
		t.Errorf("the fence is not longer than the diff's backticks:\n%s", md)
	}
	if !strings.Contains(md, "- web: Job/web/migrate refused: spec.template: Invalid value: &lt;b&gt;x&lt;/b&gt; \\| field is immutable\n") {
		t.Errorf("the reason is not one escaped line:\n%s", md)
	}
	if regexp.MustCompile(`(?m)^</details><script>`).MatchString(md) {
		t.Errorf("the diff escaped its block:\n%s", md)
	}
}

func TestHeadline(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		plan *Plan
		want string
	}{
		{&Plan{Installations: []Installation{{Name: "a", Objects: []Object{{Action: Create}, {Action: Create}, {Action: Change}}}}}, "2 to create, 1 to change, 0 to delete"},
		{&Plan{}, "0 to create, 0 to change, 0 to delete"},
		{&Plan{ConfigError: &FileError{File: "gitopsd.yaml", Line: 3, Message: "installations[0].path: required"}}, "configuration error in gitopsd.yaml:3: installations[0].path: required"},
		{&Plan{Installations: []Installation{
			{Name: "a", RenderError: &FileError{File: "a/kustomization.yaml", Message: "bad\nthing"}},
			{Name: "b", Objects: []Object{{Kind: "Job", Namespace: "b", Name: "j", Action: Refuse, Reason: long}}},
		}}, "2 problems; a: render error in a/kustomization.yaml: bad thing"},
		{&Plan{Installations: []Installation{{Name: "b", Error: "dial tcp: connection refused"}}}, "b: not planned: dial tcp: connection refused"},
	} {
		if got := tc.plan.Headline(); got != tc.want {
			t.Errorf("Headline = %q, want %q", got, tc.want)
		}
	}
}
