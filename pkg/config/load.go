package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/schedule"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// rawConfig is gitopsd.yaml as written; its yaml tags are the schema.
type rawConfig struct {
	Installations []rawInstallation `yaml:"installations"`
}

type rawInstallation struct {
	Name      string        `yaml:"name"`
	Path      string        `yaml:"path"`
	Namespace string        `yaml:"namespace"`
	Prune     *bool         `yaml:"prune"`
	Drift     string        `yaml:"drift"`
	Interval  string        `yaml:"interval"`
	Timeout   string        `yaml:"timeout"`
	Ignore    []rawIgnore   `yaml:"ignore"`
	Windows   []rawWindow   `yaml:"windows"`
	BlueGreen *rawBlueGreen `yaml:"blueGreen"`
}

type rawBlueGreen struct {
	Deployment      string   `yaml:"deployment"`
	Services        []string `yaml:"services"`
	PreviewService  string   `yaml:"previewService"`
	PreCutover      string   `yaml:"preCutover"`
	ScaleDownDelay  string   `yaml:"scaleDownDelay"`
	RequireMergedPR *bool    `yaml:"requireMergedPR"`
	AutoPromote     *bool    `yaml:"autoPromote"`
}

type rawIgnore struct {
	Group     string   `yaml:"group"`
	Kind      string   `yaml:"kind"`
	Namespace string   `yaml:"namespace"`
	Name      string   `yaml:"name"`
	Paths     []string `yaml:"paths"`
}

type rawWindow struct {
	Kind     string `yaml:"kind"`
	Schedule string `yaml:"schedule"`
	Duration string `yaml:"duration"`
	Timezone string `yaml:"timezone"`
}

// Load reads gitopsd.yaml from the root of repo and checks that each
// installation's path is a directory of repo. Without the file, the whole
// repository is one installation named after defaultName.
func Load(repo fs.FS, defaultName string) (*Config, error) {
	data, err := fs.ReadFile(repo, FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return Implicit(defaultName), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", FileName, err)
	}
	return Parse(data, repo)
}

// Implicit is the configuration of a repository without gitopsd.yaml: one
// installation of its root directory.
func Implicit(name string) *Config {
	inst := defaults(rawInstallation{Name: installationName(name), Path: "."})
	return &Config{Installations: []Installation{inst}}
}

// Parse parses and validates the contents of gitopsd.yaml. When repo is not
// nil, each installation's path must be a directory in it.
func Parse(data []byte, repo fs.FS) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := syntaxError(data, err)
		return nil, &Error{File: FileName, Line: line, Err: errors.New(msg)}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: FileName, Err: errors.New("empty file; list the installations under 'installations:'")}
	}
	root := deref(doc.Content[0])
	v := &validator{}
	checkSchema(root, reflect.TypeFor[rawConfig](), "", v.report)
	if err := v.err(); err != nil {
		return nil, err
	}
	var raw rawConfig
	if err := root.Decode(&raw); err != nil {
		return nil, &Error{File: FileName, Err: err}
	}
	cfg := &Config{File: FileName}
	items := field(root, "installations")
	if items == nil || len(raw.Installations) == 0 {
		v.report(root, "installations", errors.New("no installations listed"))
	}
	seen := map[string]int{}
	for i, r := range raw.Installations {
		item := element(items, i)
		inst := v.installation(item, fmt.Sprintf("installations[%d]", i), r, repo)
		if line, dup := seen[inst.Name]; dup && inst.Name != "" {
			v.report(field(item, "name"), fmt.Sprintf("installations[%d].name", i),
				fmt.Errorf("%q is already the name of the installation on line %d", inst.Name, line))
		}
		seen[inst.Name] = item.Line
		cfg.Installations = append(cfg.Installations, inst)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validator collects every mistake so that a user can fix them in one go.
type validator struct{ errs []*Error }

func (v *validator) report(n *yaml.Node, field string, err error) {
	line := 0
	if n != nil {
		line = n.Line
	}
	v.errs = append(v.errs, &Error{File: FileName, Line: line, Field: field, Err: err})
}

// err is every mistake in the order of the file's lines, however the checks
// found them.
func (v *validator) err() error {
	slices.SortStableFunc(v.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// installation validates one entry and applies its defaults.
func (v *validator) installation(n *yaml.Node, at string, r rawInstallation, repo fs.FS) Installation {
	check := func(key string, err error) {
		if err != nil {
			where := field(n, key)
			if where == nil {
				where = n
			}
			v.report(where, at+"."+key, err)
		}
	}
	check("name", validName(r.Name, true))
	check("namespace", validName(r.Namespace, false))
	cleaned, err := validPath(r.Path, repo)
	check("path", err)
	r.Path = cleaned
	if r.Drift != "" && r.Drift != string(DriftCorrect) && r.Drift != string(DriftReport) {
		check("drift", fmt.Errorf("%q is not a drift policy; use %q or %q", r.Drift, DriftCorrect, DriftReport))
	}
	_, err = parseDuration(r.Interval)
	check("interval", err)
	_, err = parseDuration(r.Timeout)
	check("timeout", err)
	inst := defaults(r)
	inst.Ignore = v.ignoreRules(field(n, "ignore"), at+".ignore", r.Ignore)
	inst.Windows = v.windows(field(n, "windows"), at+".windows", r.Windows)
	if r.BlueGreen != nil {
		inst.BlueGreen = v.blueGreen(field(n, "blueGreen"), at+".blueGreen", *r.BlueGreen)
	}
	return inst
}

// ignoreRules validates ignore rules: each names a kind and JSON pointers.
func (v *validator) ignoreRules(n *yaml.Node, at string, raw []rawIgnore) []IgnoreRule {
	var rules []IgnoreRule
	for i, r := range raw {
		item, where := element(n, i), fmt.Sprintf("%s[%d]", at, i)
		if r.Kind == "" {
			v.report(item, where+".kind", errors.New("required; name the kind whose fields to ignore"))
		}
		if len(r.Paths) == 0 {
			v.report(item, where+".paths", errors.New("required; list JSON pointers such as /spec/replicas"))
		}
		for j, p := range r.Paths {
			if !strings.HasPrefix(p, "/") {
				v.report(element(field(item, "paths"), j), fmt.Sprintf("%s.paths[%d]", where, j), fmt.Errorf("%q is not a JSON pointer; write it like /spec/replicas", p))
			}
		}
		rules = append(rules, IgnoreRule{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Paths: r.Paths})
	}
	return rules
}

// windows parses sync windows; a bad cron expression or time zone is an
// error with its line.
func (v *validator) windows(n *yaml.Node, at string, raw []rawWindow) schedule.Windows {
	var ws schedule.Windows
	for i, r := range raw {
		item, where := element(n, i), fmt.Sprintf("%s[%d]", at, i)
		d, err := parseDuration(r.Duration)
		if err == nil && d == 0 {
			err = errors.New("required, such as 2h")
		}
		if err != nil {
			v.report(orNode(field(item, "duration"), item), where+".duration", err)
			continue
		}
		w, err := schedule.NewWindow(schedule.Kind(r.Kind), r.Schedule, d, r.Timezone)
		if err != nil {
			key := "schedule"
			switch {
			case strings.HasPrefix(err.Error(), "kind"):
				key = "kind"
			case strings.HasPrefix(err.Error(), "timezone"):
				key = "timezone"
			}
			v.report(orNode(field(item, key), item), where+"."+key, err)
			continue
		}
		ws = append(ws, w)
	}
	return ws
}

// maxJobName leaves room in a Job's name, which its pods carry as a label
// value of at most 63 characters, for the number of the cutover it runs for.
const maxJobName = 52

// blueGreen validates a blueGreen block and applies its defaults.
func (v *validator) blueGreen(n *yaml.Node, at string, r rawBlueGreen) *BlueGreen {
	check := func(key string, err error) {
		if err != nil {
			v.report(orNode(field(n, key), n), at+"."+key, err)
		}
	}
	switch {
	case r.Deployment == "":
		check("deployment", errors.New("required; name the Deployment of the render that runs in two colours"))
	default:
		check("deployment", validObjectName(r.Deployment, len("-green")))
	}
	if len(r.Services) == 0 {
		check("services", errors.New("required; list the Services whose selector follows the live colour"))
	}
	seen := map[string]bool{}
	for i, name := range r.Services {
		err := validServiceName(name)
		if err == nil && seen[name] {
			err = fmt.Errorf("%q is listed twice", name)
		}
		seen[name] = true
		if err != nil {
			v.report(orNode(element(field(n, "services"), i), n), fmt.Sprintf("%s.services[%d]", at, i), err)
		}
	}
	if r.PreviewService != "" {
		err := validServiceName(r.PreviewService)
		if err == nil && seen[r.PreviewService] {
			err = fmt.Errorf("%q is also in services; the preview Service selects the idle colour, the others the live one", r.PreviewService)
		}
		check("previewService", err)
	}
	if r.PreCutover != "" {
		err := validObjectName(r.PreCutover, 0)
		if err == nil && len(r.PreCutover) > maxJobName {
			err = fmt.Errorf("%q is longer than %d characters, which leaves no room for the cutover number gitopsd appends", r.PreCutover, maxJobName)
		}
		check("preCutover", err)
	}
	bg := &BlueGreen{Deployment: r.Deployment, Services: r.Services, PreviewService: r.PreviewService, PreCutover: r.PreCutover,
		ScaleDownDelay: DefaultScaleDownDelay, RequireMergedPR: DefaultRequireMergedPR, AutoPromote: DefaultAutoPromote}
	if r.ScaleDownDelay != "" {
		d, err := time.ParseDuration(r.ScaleDownDelay)
		switch {
		case err != nil:
			check("scaleDownDelay", fmt.Errorf("%q is not a duration like 30m or 1h", r.ScaleDownDelay))
		case d < 0:
			check("scaleDownDelay", fmt.Errorf("%q must not be negative; 0s scales the old colour down at once", r.ScaleDownDelay))
		default:
			bg.ScaleDownDelay = d
		}
	}
	if r.RequireMergedPR != nil {
		bg.RequireMergedPR = *r.RequireMergedPR
	}
	if r.AutoPromote != nil {
		bg.AutoPromote = *r.AutoPromote
	}
	return bg
}

// validObjectName checks a name of a Deployment or Job, which suffix more
// characters must fit after.
func validObjectName(name string, suffix int) error {
	if msgs := validation.IsDNS1123Subdomain(name + strings.Repeat("a", suffix)); len(msgs) > 0 {
		return fmt.Errorf("%q is not a valid object name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

func validServiceName(name string) error {
	if msgs := validation.IsDNS1035Label(name); len(msgs) > 0 {
		return fmt.Errorf("%q is not a valid Service name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

func validName(name string, required bool) error {
	if name == "" {
		if required {
			return errors.New("required")
		}
		return nil
	}
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return fmt.Errorf("%q is not a valid name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

// validPath cleans p and checks that it stays inside the repository and, when
// repo is given, names a directory there.
func validPath(p string, repo fs.FS) (string, error) {
	if p == "" {
		return "", errors.New("required; use \".\" for the repository root")
	}
	if path.IsAbs(p) || strings.Contains(p, `\`) {
		return "", fmt.Errorf("%q must be a slash-separated path relative to the repository root", p)
	}
	cleaned := path.Clean(p)
	if cleaned == ".." || strings.HasPrefix(cleaned, "../") {
		return "", fmt.Errorf("%q is outside the repository", p)
	}
	if repo == nil {
		return cleaned, nil
	}
	info, err := fs.Stat(repo, cleaned)
	if err != nil {
		return "", fmt.Errorf("directory %q does not exist in the repository", p)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%q is a file; name the directory that holds it", p)
	}
	return cleaned, nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 30s, 5m or 1h", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return d, nil
}

// defaults turns a validated entry into an Installation, filling in what it
// leaves out. It is the one place defaults are applied.
func defaults(r rawInstallation) Installation {
	inst := Installation{
		Name:      r.Name,
		Path:      r.Path,
		Namespace: r.Namespace,
		Prune:     DefaultPrune,
		Drift:     DriftPolicy(r.Drift),
		Interval:  DefaultInterval,
		Timeout:   DefaultTimeout,
	}
	if r.Prune != nil {
		inst.Prune = *r.Prune
	}
	if inst.Drift == "" {
		inst.Drift = DefaultDrift
	}
	if d, _ := parseDuration(r.Interval); d > 0 {
		inst.Interval = d
	}
	if d, _ := parseDuration(r.Timeout); d > 0 {
		inst.Timeout = d
	}
	return inst
}

// field returns the value of key in the mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// element returns item i of the sequence n; decoding has checked it exists.
func element(n *yaml.Node, i int) *yaml.Node {
	return deref(deref(n).Content[i])
}

// deref follows YAML aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// syntaxError locates a YAML syntax error at the first line that, added to
// those before it, makes them fail to parse with the same message: the
// parser reports the line where the enclosing block began, which is rarely
// the one to fix. An opening bracket or quote never closed is found at its
// own line.
func syntaxError(data []byte, err error) (line int, msg string) {
	line, msg = splitYAMLError(err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxSearchLines {
		return line, msg
	}
	for k := 1; k <= len(lines); k++ {
		var doc yaml.Node
		if err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &doc); err != nil {
			if _, m := splitYAMLError(err); m == msg {
				return k, msg
			}
		}
	}
	return line, msg
}

// maxSearchLines bounds the search of syntaxError, which parses the file
// once per line.
const maxSearchLines = 2000

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// splitYAMLError separates the line from a YAML syntax error's message.
func splitYAMLError(err error) (line int, msg string) {
	msg = err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return line, msg
}

var notNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// installationName turns a directory or repository name into a valid
// installation name.
func installationName(base string) string {
	name := strings.TrimSuffix(path.Base(strings.ReplaceAll(base, `\`, "/")), ".git")
	name = strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(name) > validation.DNS1123LabelMaxLength {
		name = strings.TrimRight(name[:validation.DNS1123LabelMaxLength], "-")
	}
	if name == "" || name == "." {
		return "default"
	}
	return name
}
