package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gitopsd/gitopsd/pkg/schedule"
	"time"
)

var repo = fstest.MapFS{
	"apps/web/kustomization.yaml": {Data: []byte("resources: []\n")},
	"apps/db/db.yaml":             {Data: []byte("kind: ConfigMap\n")},
	"README.md":                   {Data: []byte("fleet\n")},
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
installations:
  - name: web
    path: ./apps/web/
  - name: db
    path: apps/db
    namespace: data
    prune: false
    drift: report
    interval: 30s
    timeout: 2m
    ignore:
      - group: apps
        kind: Deployment
        paths: [/spec/replicas]
    windows:
      - kind: deny
        schedule: "0 9 * * 1-5"
        duration: 8h
        timezone: Europe/Berlin
`), repo)
	if err != nil {
		t.Fatal(err)
	}
	deny, _ := schedule.NewWindow(schedule.Deny, "0 9 * * 1-5", 8*time.Hour, "Europe/Berlin")
	want := []Installation{
		{Name: "web", Path: "apps/web", Prune: true, Drift: DriftCorrect, Interval: DefaultInterval, Timeout: DefaultTimeout},
		{Name: "db", Path: "apps/db", Namespace: "data", Prune: false, Drift: DriftReport, Interval: 30 * time.Second, Timeout: 2 * time.Minute,
			Ignore:  []IgnoreRule{{Group: "apps", Kind: "Deployment", Paths: []string{"/spec/replicas"}}},
			Windows: schedule.Windows{deny}},
	}
	if len(cfg.Installations) != len(want) {
		t.Fatalf("got %d installations, want %d", len(cfg.Installations), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(cfg.Installations[i], want[i]) {
			t.Errorf("installation %d = %+v, want %+v", i, cfg.Installations[i], want[i])
		}
	}
}

func TestParseErrorsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each must appear in the error
	}{
		{"unknown field", "installations:\n  - name: web\n    path: apps/web\n    pruen: false\n",
			[]string{"gitopsd.yaml:4: installations[0].pruen: unknown field", "prune"}},
		{"unknown top-level field", "installation:\n  - name: web\n",
			[]string{"gitopsd.yaml:1: installation: unknown field; known fields are installations"}},
		{"duplicate name", "installations:\n  - name: web\n    path: apps/web\n  - name: web\n    path: apps/db\n",
			[]string{"gitopsd.yaml:4: installations[1].name: \"web\" is already the name of the installation on line 2"}},
		{"path outside", "installations:\n  - name: web\n    path: ../other\n",
			[]string{"gitopsd.yaml:3: installations[0].path: \"../other\" is outside the repository"}},
		{"path sneaking out", "installations:\n  - name: web\n    path: apps/../../x\n",
			[]string{"installations[0].path", "outside the repository"}},
		{"absolute path", "installations:\n  - name: web\n    path: /etc\n",
			[]string{"gitopsd.yaml:3: installations[0].path", "relative to the repository root"}},
		{"missing path", "installations:\n  - name: web\n    path: apps/nope\n",
			[]string{"gitopsd.yaml:3: installations[0].path: directory \"apps/nope\" does not exist"}},
		{"path is a file", "installations:\n  - name: web\n    path: README.md\n",
			[]string{"gitopsd.yaml:3: installations[0].path", "is a file"}},
		{"bad duration", "installations:\n  - name: web\n    path: apps/web\n    interval: 5 minutes\n",
			[]string{"gitopsd.yaml:4: installations[0].interval: \"5 minutes\" is not a duration"}},
		{"negative duration", "installations:\n  - name: web\n    path: apps/web\n    timeout: -1s\n",
			[]string{"gitopsd.yaml:4: installations[0].timeout", "must be positive"}},
		{"bad bool", "installations:\n  - name: web\n    path: apps/web\n    prune: sometimes\n",
			[]string{"gitopsd.yaml:4: installations[0].prune: want true or false, got \"sometimes\""}},
		{"bad drift", "installations:\n  - name: web\n    path: apps/web\n    drift: fix\n",
			[]string{"gitopsd.yaml:4: installations[0].drift: \"fix\" is not a drift policy"}},
		{"bad name", "installations:\n  - name: Web_App\n    path: apps/web\n",
			[]string{"gitopsd.yaml:2: installations[0].name: \"Web_App\" is not a valid name"}},
		{"missing name", "installations:\n  - path: apps/web\n",
			[]string{"gitopsd.yaml:2: installations[0].name: required"}},
		{"repeated key", "installations:\n  - name: web\n    path: apps/web\n    path: apps/db\n",
			[]string{"gitopsd.yaml:4: installations[0].path: repeated; first set on line 3"}},
		{"not a list", "installations:\n  name: web\n",
			[]string{"gitopsd.yaml:2: installations: want a list"}},
		{"syntax", "installations:\n  - name: web\n   path: x\n",
			[]string{"gitopsd.yaml:3: did not find expected '-' indicator"}},
		{"tab", "installations:\n  - name: web\n    path: x\n\tinterval: 5m\n",
			[]string{"gitopsd.yaml:4: found a tab character"}},
		{"unclosed flow mapping", "installations:\n  - name: web\n    path: x\n  - {name: db, path: y\n",
			[]string{"gitopsd.yaml:4: did not find expected ',' or '}'"}},
		{"unclosed flow sequence", "installations:\n  - name: web\n    path: x\n    ignore: [\n      {kind: Deployment}\n",
			[]string{"gitopsd.yaml:5: did not find expected ',' or ']'"}},
		{"unterminated quote", "installations:\n  - name: web\n    path: \"x\n  - name: db\n",
			[]string{"gitopsd.yaml:3: found unexpected end of stream"}},
		{"flow closed later is fine, the error is after it", "installations:\n  - {name: web,\n     path: x}\n  - name: db\n   path: y\n",
			[]string{"gitopsd.yaml:5: did not find expected '-' indicator"}},
		{"empty list", "installations: []\n",
			[]string{"gitopsd.yaml:1: installations: no installations listed"}},
		{"empty file", "", []string{"gitopsd.yaml: empty file"}},
		{"ignore rule without kind", "installations:\n  - name: web\n    path: apps/web\n    ignore:\n      - paths: [/spec/replicas]\n",
			[]string{"gitopsd.yaml:5: installations[0].ignore[0].kind: required"}},
		{"ignore path not a pointer", "installations:\n  - name: web\n    path: apps/web\n    ignore:\n      - kind: Deployment\n        paths: [spec.replicas]\n",
			[]string{"gitopsd.yaml:6: installations[0].ignore[0].paths[0]: \"spec.replicas\" is not a JSON pointer"}},
		{"bad cron", "installations:\n  - name: web\n    path: apps/web\n    windows:\n      - kind: deny\n        schedule: \"0 25 * * *\"\n        duration: 1h\n",
			[]string{"gitopsd.yaml:6: installations[0].windows[0].schedule: schedule \"0 25 * * *\""}},
		{"bad timezone", "installations:\n  - name: web\n    path: apps/web\n    windows:\n      - kind: allow\n        schedule: \"@daily\"\n        duration: 1h\n        timezone: Moon/Base\n",
			[]string{"gitopsd.yaml:8: installations[0].windows[0].timezone: timezone \"Moon/Base\""}},
		{"window without duration", "installations:\n  - name: web\n    path: apps/web\n    windows:\n      - kind: allow\n        schedule: \"@daily\"\n",
			[]string{"gitopsd.yaml:5: installations[0].windows[0].duration: required"}},
		{"bad window kind", "installations:\n  - name: web\n    path: apps/web\n    windows:\n      - kind: sometimes\n        schedule: \"@daily\"\n        duration: 1h\n",
			[]string{"gitopsd.yaml:5: installations[0].windows[0].kind"}},
		{"blueGreen without deployment", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      services: [web]\n",
			[]string{"gitopsd.yaml:5: installations[0].blueGreen.deployment: required"}},
		{"blueGreen without services", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n",
			[]string{"gitopsd.yaml:5: installations[0].blueGreen.services: required"}},
		{"blueGreen unknown field", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services: [web]\n      scaledownDelay: 1h\n",
			[]string{"gitopsd.yaml:7: installations[0].blueGreen.scaledownDelay: unknown field", "scaleDownDelay"}},
		{"blueGreen bad service", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services:\n        - web\n        - Web_1\n",
			[]string{"gitopsd.yaml:8: installations[0].blueGreen.services[1]: \"Web_1\" is not a valid Service name"}},
		{"blueGreen repeated service", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services: [web, web]\n",
			[]string{"installations[0].blueGreen.services[1]: \"web\" is listed twice"}},
		{"blueGreen preview among services", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services: [web]\n      previewService: web\n",
			[]string{"gitopsd.yaml:7: installations[0].blueGreen.previewService: \"web\" is also in services"}},
		{"blueGreen bad delay", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services: [web]\n      scaleDownDelay: an hour\n",
			[]string{"gitopsd.yaml:7: installations[0].blueGreen.scaleDownDelay: \"an hour\" is not a duration"}},
		{"blueGreen bad bool", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services: [web]\n      autoPromote: yes please\n",
			[]string{"gitopsd.yaml:7: installations[0].blueGreen.autoPromote: want true or false"}},
		{"blueGreen long job", "installations:\n  - name: web\n    path: apps/web\n    blueGreen:\n      deployment: web\n      services: [web]\n      preCutover: " + strings.Repeat("m", 60) + "\n",
			[]string{"gitopsd.yaml:7: installations[0].blueGreen.preCutover", "no room for the cutover number"}},
		{"blueGreen not a mapping", "installations:\n  - name: web\n    path: apps/web\n    blueGreen: true\n",
			[]string{"gitopsd.yaml:4: installations[0].blueGreen: want a mapping of"}},
		{"every mistake at once", "installations:\n  - name: web\n    path: ../x\n    interval: soon\n",
			[]string{"installations[0].path", "installations[0].interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), repo)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

// TestParseErrorsInLineOrder: the checks of an installation run field by
// field, but its mistakes are listed as the file has them.
func TestParseErrorsInLineOrder(t *testing.T) {
	yaml := "installations:\n  - name: web\n    timeout: -1s\n    interval: soon\n    drift: fix\n    path: ../x\n"
	_, err := Parse([]byte(yaml), repo)
	if err == nil {
		t.Fatal("no error")
	}
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		at, _, _ := strings.Cut(l, ": ")
		lines = append(lines, at)
	}
	want := []string{"gitopsd.yaml:3", "gitopsd.yaml:4", "gitopsd.yaml:5", "gitopsd.yaml:6"}
	if !slices.Equal(lines, want) {
		t.Errorf("errors at %q, want %q:\n%s", lines, want, err)
	}
}

func TestParseBlueGreen(t *testing.T) {
	cfg, err := Parse([]byte(`
installations:
  - name: web
    path: apps/web
    blueGreen:
      deployment: web
      services: [web]
  - name: db
    path: apps/db
    blueGreen:
      deployment: db
      services: [db, db-admin]
      previewService: db-preview
      preCutover: db-migrate
      scaleDownDelay: 0s
      requireMergedPR: false
      autoPromote: false
`), repo)
	if err != nil {
		t.Fatal(err)
	}
	want := []*BlueGreen{
		{Deployment: "web", Services: []string{"web"}, ScaleDownDelay: time.Hour, RequireMergedPR: true, AutoPromote: true},
		{Deployment: "db", Services: []string{"db", "db-admin"}, PreviewService: "db-preview", PreCutover: "db-migrate"},
	}
	for i, w := range want {
		if got := cfg.Installations[i].BlueGreen; !reflect.DeepEqual(got, w) {
			t.Errorf("installation %d: blueGreen = %+v, want %+v", i, got, w)
		}
	}
}

func TestAliases(t *testing.T) {
	cfg, err := Parse([]byte(`
defaults: &ignore
  - kind: Deployment
    paths: [/spec/replicas]
installations:
  - name: web
    path: apps/web
    ignore: *ignore
`), repo)
	if err == nil || !strings.Contains(err.Error(), "defaults: unknown field") {
		t.Fatalf("an unknown top-level anchor holder: %v", err)
	}
	cfg, err = Parse([]byte("installations: &list\n  - &web {name: web, path: apps/web, ignore: &ig [{kind: Deployment, paths: [/spec/replicas]}]}\n  - {name: db, path: apps/db, ignore: *ig}\n"), repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Installations[1].Ignore) != 1 {
		t.Errorf("an aliased ignore list was lost: %+v", cfg.Installations[1])
	}
}

func TestLoadWithoutFileIsOneInstallation(t *testing.T) {
	cfg, err := Load(repo, "My_Fleet.git")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Installations) != 1 {
		t.Fatalf("got %d installations", len(cfg.Installations))
	}
	inst := cfg.Installations[0]
	if inst.Name != "my-fleet" || inst.Path != "." || !inst.Prune || inst.Drift != DriftCorrect {
		t.Errorf("implicit installation = %+v", inst)
	}
}

func TestLoadReadsFile(t *testing.T) {
	fsys := fstest.MapFS{"gitopsd.yaml": {Data: []byte("installations:\n  - name: web\n    path: apps/web\n")}}
	for k, v := range repo {
		fsys[k] = v
	}
	cfg, err := Load(fsys, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Names(); len(got) != 1 || got[0] != "web" {
		t.Errorf("names = %v", got)
	}
	if _, ok := cfg.Installation("web"); !ok {
		t.Error("Installation(web) not found")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("installations:\n  - name: web\n    path: apps/web\n    prune: false\n"))
	f.Add([]byte("installations:\n  - {name: a, path: ., interval: 1s, drift: report}\n"))
	f.Add([]byte("installations: &a\n  - *a\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Add([]byte("common: &c [{kind: Deployment, paths: [/spec/replicas]}]\ninstallations:\n  - {name: a, path: apps/web, ignore: *c}\n"))
	f.Add([]byte("w: &w [{kind: deny, schedule: '@daily', duration: 1h}]\ninstallations:\n  - &i {name: a, path: apps/web, windows: *w}\n  - *i\n"))
	f.Add([]byte("installations:\n  - {name: a, path: apps/web, blueGreen: {deployment: a, services: [a], previewService: p, scaleDownDelay: 0s}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, repo)
		if err != nil {
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("error %T is not a *config.Error: %v", err, err)
			}
			return
		}
		for _, inst := range cfg.Installations {
			if inst.Name == "" || inst.Path == "" || inst.Interval <= 0 || inst.Timeout <= 0 {
				t.Fatalf("accepted an incomplete installation %+v", inst)
			}
			if bg := inst.BlueGreen; bg != nil && (bg.Deployment == "" || len(bg.Services) == 0 || bg.ScaleDownDelay < 0) {
				t.Fatalf("accepted an incomplete blueGreen block %+v", bg)
			}
		}
	})
}
