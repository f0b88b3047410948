package plan

import (
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// MarkdownOptions shape the Markdown rendering of a plan.
type MarkdownOptions struct {
	// Title heads the text; empty is "gitopsd plan".
	Title string
	// Limit is the most characters the text may have (GitHub takes 65,536
	// in a comment); 0 is no limit. Objects that do not fit are left out
	// whole, from the first that does not fit on, and counted.
	Limit int
	// More says, in Markdown, where to see what was left out: a command,
	// a link.
	More string
}

// Limits that keep one part of a plan from crowding out the rest.
const (
	// maxDiff is the longest diff shown for one object; a longer one is
	// summarised by its length.
	maxDiff = 16000
	// maxLine bounds a problem, a reason or an error.
	maxLine = 1000
	// maxNames bounds the list of installations the change leaves alone.
	maxNames = 50
)

// WriteMarkdown writes the whole plan as Markdown.
func WriteMarkdown(w io.Writer, p *Plan) error {
	_, err := io.WriteString(w, Markdown(p, MarkdownOptions{}))
	return err
}

// Markdown renders the plan for a pull request comment: the summary and a
// table of the installations first, then what would fail, then per
// installation a collapsed block per object created or changed (its diff;
// Secret values masked, keys named) and a line per object deleted or kept
// (with why). Under opts.Limit, what does not fit is cut at object
// boundaries and the number of objects not shown is said, with opts.More.
func Markdown(p *Plan, opts MarkdownOptions) string {
	title := opts.Title
	if title == "" {
		title = "gitopsd plan"
	}
	total := 0
	for i := range p.Installations {
		total += shownObjects(&p.Installations[i])
	}
	footer := func(hidden int) string {
		return fmt.Sprintf("\n---\n**%d of %d objects are not shown** to keep this comment within GitHub's limit. %s\n", hidden, total, opts.More)
	}
	w := &bounded{}
	if opts.Limit > 0 {
		// Room is kept for the footer at its longest.
		w.limit = opts.Limit - utf8.RuneCountInString(footer(total))
	}
	w.add(fmt.Sprintf("### %s\n\n%s %s\n\n", html.EscapeString(title), icon(p.Summary()), headline(p)))
	writeTable(w, p)
	writeProblems(w, p)
	shown := writeObjects(w, p)
	if shown < total {
		w.b.WriteString(footer(total - shown))
	}
	return w.b.String()
}

// bounded is a builder that takes whole blocks while they fit in limit
// characters (0: no limit).
type bounded struct {
	b     strings.Builder
	n     int
	limit int
}

func (w *bounded) add(s string) bool {
	n := utf8.RuneCountInString(s)
	if w.limit > 0 && w.n+n > w.limit {
		return false
	}
	w.b.WriteString(s)
	w.n += n
	return true
}

func icon(s Summary) string {
	switch {
	case s.Refused+s.RenderErrors > 0:
		return "❌"
	case s.Errors > 0:
		return "⚠️"
	case s.Changes():
		return "📝"
	}
	return "✅"
}

func headline(p *Plan) string {
	line := fmt.Sprintf("**%s** at `%s`", p.Summary(), p.commit())
	if p.Base != "" {
		line += fmt.Sprintf(", against `%s`", logkey.ShortSHA(p.Base))
	}
	return line + "."
}

// writeTable writes a row per installation planned, while they fit.
func writeTable(w *bounded, p *Plan) {
	if len(p.Installations) > 0 {
		w.add("| Installation | Result | Create | Change | Delete | Unchanged |\n|---|---|--:|--:|--:|--:|\n")
	}
	for i := range p.Installations {
		in := &p.Installations[i]
		s := in.Summary()
		name := "`" + in.Name + "`"
		if in.Reason != "" {
			name += " (" + string(in.Reason) + ")"
		}
		row := fmt.Sprintf("| %s | %s | %d | %d | %d | %d |\n", name, result(in, s), s.Create, s.Change, s.Delete, s.Unchanged)
		if in.RenderError != nil || in.Error != "" || in.Refused != "" {
			row = fmt.Sprintf("| %s | %s | | | | |\n", name, result(in, s))
		}
		if !w.add(row) {
			w.add(fmt.Sprintf("\n%d more installations are planned.\n", len(p.Installations)-i))
			break
		}
	}
	if len(p.Unaffected) > 0 {
		names := p.Unaffected
		more := ""
		if len(names) > maxNames {
			names, more = names[:maxNames], fmt.Sprintf(" and %d more", len(names)-maxNames)
		}
		w.add(fmt.Sprintf("\nNot affected: `%s`%s.\n", strings.Join(names, "`, `"), more))
	}
	w.add("\n")
}

func result(in *Installation, s Summary) string {
	switch {
	case in.RenderError != nil:
		return "❌ render error"
	case in.Refused != "":
		return "❌ refused"
	case in.Error != "":
		return "⚠️ not planned"
	case s.Refused > 0:
		return fmt.Sprintf("❌ %d refused", s.Refused)
	case s.Changes():
		return "📝 changes"
	}
	return "✅ no changes"
}

// writeProblems lists what would fail, while the lines fit.
func writeProblems(w *bounded, p *Plan) {
	problems := p.Problems()
	if len(problems) == 0 {
		return
	}
	w.add("**Applying this would fail:**\n\n")
	for i, line := range problems {
		if !w.add("- " + inline(line) + "\n") {
			w.add(fmt.Sprintf("- … and %d more\n", len(problems)-i))
			break
		}
	}
	w.add("\n")
}

// shownObjects counts the objects that get a block: those created,
// changed, deleted or kept (refusals are listed with the problems).
func shownObjects(in *Installation) int {
	n := 0
	for _, o := range in.Objects {
		if o.Action != Refuse {
			n++
		}
	}
	return n
}

// writeObjects writes, per installation, a block per object while they
// fit, and returns how many were written.
func writeObjects(w *bounded, p *Plan) int {
	shown := 0
	for i := range p.Installations {
		in := &p.Installations[i]
		if shownObjects(in) == 0 {
			continue
		}
		head := fmt.Sprintf("#### `%s`\n\n", in.Name)
		if in.BlueGreen != nil {
			head += "🔀 Blue/green: " + inline(in.BlueGreen.Message) + ".\n\n"
		}
		if !w.add(head) {
			return shown
		}
		deleting := false
		for _, o := range in.Objects {
			if o.Action == Refuse {
				continue
			}
			block := objectBlock(o)
			if (o.Action == Delete || o.Action == Keep) && !deleting {
				block, deleting = "\n"+block, true
			}
			if !w.add(block) {
				return shown
			}
			shown++
		}
		w.add("\n")
	}
	return shown
}

// objectBlock is a collapsed diff for an object created or changed, a list
// item for one deleted or kept.
func objectBlock(o Object) string {
	key := html.EscapeString(o.Key().String())
	switch o.Action {
	case Delete:
		return fmt.Sprintf("- 🗑️ delete <code>%s</code>\n", key)
	case Keep:
		return fmt.Sprintf("- 📌 keep <code>%s</code>: %s\n", key, inline(o.Reason))
	}
	verb := "➕ create"
	if o.Action == Change {
		verb = "✏️ change"
	}
	summary := fmt.Sprintf("%s <code>%s</code>", verb, key)
	if len(o.SecretKeys) > 0 {
		keys := make([]string, len(o.SecretKeys))
		for i, k := range o.SecretKeys {
			keys[i] = fmt.Sprintf("<code>%s</code> %s", html.EscapeString(k.Key), k.Change)
		}
		summary += " · Secret keys: " + strings.Join(keys, ", ")
	}
	body := fenced(o.Diff)
	if n := utf8.RuneCountInString(o.Diff); n > maxDiff {
		body = fmt.Sprintf("_The diff has %d lines, too long for a comment._\n", strings.Count(o.Diff, "\n"))
	}
	return fmt.Sprintf("<details><summary>%s</summary>\n\n%s\n</details>\n", summary, body)
}

// fenced puts a diff in a code block whose fence no run of backticks in
// it can close.
func fenced(diff string) string {
	longest, run := 0, 0
	for _, r := range diff {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	if !strings.HasSuffix(diff, "\n") {
		diff += "\n"
	}
	return fence + "diff\n" + diff + fence + "\n"
}

// inline makes free text (an API server's message, say) safe on one line
// of Markdown: white space folded, HTML escaped, bounded.
func inline(s string) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) > maxLine {
		s = string([]rune(s)[:maxLine-1]) + "…"
	}
	return strings.ReplaceAll(html.EscapeString(s), "|", `\|`)
}
