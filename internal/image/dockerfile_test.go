package image

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDockerfileMatchesImage: the Dockerfile's final stage declares the
// user, entrypoint, command, environment and labels of the image that
// make image builds, so Docker users get the same container.
func TestDockerfileMatchesImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	final := finalStage(string(data))
	want := Config(Options{Version: "${VERSION}", Commit: "${COMMIT}", Source: DefaultOptions().Source})

	if got := final["USER"]; len(got) != 1 || got[0] != want.User {
		t.Errorf("USER %q, want %s", got, want.User)
	}
	for _, inst := range []struct {
		name string
		want []string
	}{{"ENTRYPOINT", want.Entrypoint}, {"CMD", want.Cmd}} {
		var got []string
		if len(final[inst.name]) != 1 || json.Unmarshal([]byte(final[inst.name][0]), &got) != nil || !reflect.DeepEqual(got, inst.want) {
			t.Errorf("%s %q, want %q in JSON form", inst.name, final[inst.name], inst.want)
		}
	}
	if got := pairs(final["ENV"]); !reflect.DeepEqual(got, pairs(want.Env)) {
		t.Errorf("ENV %v, want %v", got, want.Env)
	}
	if got := pairs(final["LABEL"]); !reflect.DeepEqual(got, want.Labels) {
		t.Errorf("LABEL %v, want %v", got, want.Labels)
	}
	if copies := strings.Join(final["COPY"], "\n"); !strings.Contains(copies, "--from=build /rootfs /") {
		t.Errorf("the final stage does not copy the root file system hack/image writes:\n%s", copies)
	}
}

// finalStage returns the arguments of each instruction after the last FROM,
// continuation lines joined.
func finalStage(dockerfile string) map[string][]string {
	joined := strings.ReplaceAll(dockerfile, "\\\n", " ")
	stage := map[string][]string{}
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		inst, args, _ := strings.Cut(line, " ")
		inst = strings.ToUpper(inst)
		if inst == "FROM" {
			stage = map[string][]string{}
			continue
		}
		stage[inst] = append(stage[inst], strings.TrimSpace(args))
	}
	return stage
}

// pairs parses KEY=VALUE words (values unquoted) into a map.
func pairs(args []string) map[string]string {
	m := map[string]string{}
	for _, arg := range args {
		for _, word := range strings.Fields(arg) {
			k, v, _ := strings.Cut(word, "=")
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}
