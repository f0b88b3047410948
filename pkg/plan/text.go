package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// WriteText writes the plan for a terminal: a line per installation with
// its counts, then per object what would happen and its diff, then the
// totals. Comment lines start with "# " so that the rest reads as a patch.
func WriteText(w io.Writer, p *Plan) error {
	b := bufio.NewWriter(w)
	if p.ConfigError != nil {
		fmt.Fprintf(b, "# gitopsd.yaml is broken: %v\n", p.ConfigError)
	}
	for i := range p.Installations {
		writeInstallation(b, &p.Installations[i])
	}
	if len(p.Unaffected) > 0 {
		fmt.Fprintf(b, "# unaffected: %s\n", strings.Join(p.Unaffected, ", "))
	}
	fmt.Fprintf(b, "# plan of %s: %s\n", p.commit(), p.Summary())
	return b.Flush()
}

func writeInstallation(b *bufio.Writer, in *Installation) {
	head := "# " + in.Name
	if in.Reason != "" {
		head += " (" + string(in.Reason) + ")"
	}
	switch {
	case in.RenderError != nil:
		fmt.Fprintf(b, "%s: render error: %v\n", head, in.RenderError)
		return
	case in.Error != "":
		fmt.Fprintf(b, "%s: not planned: %s\n", head, in.Error)
		return
	case in.Refused != "":
		fmt.Fprintf(b, "%s: refused: %s\n", head, in.Refused)
		return
	}
	fmt.Fprintf(b, "%s: %s\n", head, in.Summary())
	if in.BlueGreen != nil {
		fmt.Fprintf(b, "# %s: blue/green: %s\n", in.Name, in.BlueGreen.Message)
	}
	for _, o := range in.Objects {
		key := o.Key().String()
		switch o.Action {
		case Create:
			fmt.Fprintf(b, "# %s: %s would be created%s\n%s", in.Name, key, secretKeys(o), o.Diff)
		case Change:
			fmt.Fprintf(b, "# %s: %s would be changed%s\n%s", in.Name, key, secretKeys(o), o.Diff)
		case Delete:
			fmt.Fprintf(b, "# %s: %s would be pruned\n", in.Name, key)
		case Keep:
			fmt.Fprintf(b, "# %s: %s would be kept: %s\n", in.Name, key, o.Reason)
		default:
			fmt.Fprintf(b, "# %s: %s would be refused: %s\n", in.Name, key, o.Reason)
		}
	}
}

// secretKeys names the Secret keys that change, never their values.
func secretKeys(o Object) string {
	if len(o.SecretKeys) == 0 {
		return ""
	}
	parts := make([]string, len(o.SecretKeys))
	for i, k := range o.SecretKeys {
		parts[i] = k.Key + " " + string(k.Change)
	}
	return " (Secret keys: " + strings.Join(parts, ", ") + ")"
}

func (p *Plan) commit() string {
	if p.Commit == "" {
		return "the working tree"
	}
	return logkey.ShortSHA(p.Commit)
}

// WriteJSON writes the plan as indented JSON, with its summary.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Plan
		Summary Summary `json:"summary"`
	}{p, p.Summary()})
}
