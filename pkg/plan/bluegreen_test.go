package plan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/pkg/bluegreen"
)

// TestBlueGreenIsSaidInEachRendering: what a commit does to a blue/green
// installation's colours is in the text, the Markdown and the JSON.
func TestBlueGreenIsSaidInEachRendering(t *testing.T) {
	msg := "a cutover from blue to green would start: checkout-green gets the new template at 2 replica(s)"
	p := &Plan{Commit: strings.Repeat("a", 40), Installations: []Installation{{
		Name: "checkout", Path: "apps/checkout", Unchanged: 4,
		BlueGreen: &BlueGreen{Change: bluegreen.StartCutover, Live: bluegreen.Blue, From: bluegreen.Blue, To: bluegreen.Green, Message: msg},
		Objects:   []Object{{Group: "apps", Kind: "Deployment", Namespace: "checkout", Name: "checkout-green", Action: Create, Diff: "+kind: Deployment\n"}},
	}}}

	var text bytes.Buffer
	if err := WriteText(&text, p); err != nil || !strings.Contains(text.String(), "# checkout: blue/green: "+msg+"\n") {
		t.Errorf("text (%v):\n%s", err, text.String())
	}
	if md := Markdown(p, MarkdownOptions{}); !strings.Contains(md, "#### `checkout`\n\n🔀 Blue/green: "+msg+".\n") {
		t.Errorf("Markdown:\n%s", md)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Installations []struct {
			BlueGreen map[string]string `json:"blueGreen"`
		} `json:"installations"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"change": "cutover", "live": "blue", "from": "blue", "to": "green", "message": msg}
	if bg := got.Installations[0].BlueGreen; len(bg) != len(want) || bg["change"] != want["change"] || bg["to"] != want["to"] || bg["message"] != msg {
		t.Errorf("JSON blueGreen = %v, want %v", bg, want)
	}
}
