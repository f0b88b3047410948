package logkey_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The vocabulary is kept one by a walk over the module's packages: every key
// of a log call must be a constant of this package, and every constant here
// snake_case. Packages are type-checked from source so that a log call is
// recognised by its type (a method of *slog.Logger, an Attr constructor of
// log/slog), not by the name of the variable holding the logger.

const (
	modulePath = "github.com/gitopsd/gitopsd"
	logkeyPath = modulePath + "/pkg/logkey"
)

// TestLogCallsUseTheVocabulary fails on a log call, anywhere in the module's
// non-test code, whose key is not a logkey constant (a string literal, a
// package's own constant), that logs an error under another key than
// logkey.Error, or a short SHA in a field.
func TestLogCallsUseTheVocabulary(t *testing.T) {
	l := newLoader(t, moduleRoot(t))
	calls := 0
	for _, path := range l.paths() {
		pkg, err := l.load(path)
		if err != nil {
			t.Fatal(err)
		}
		n, problems := checkCalls(l.fset, pkg)
		calls += n
		for _, p := range problems {
			t.Error(p)
		}
	}
	// Well below today's count: a walk that stops finding the calls (a
	// logger type no longer recognised) must not pass in silence.
	if calls < 20 {
		t.Fatalf("the walk found %d log calls in the module; it no longer recognises them", calls)
	}
	t.Logf("%d log calls checked", calls)
}

// TestCheckerFindsEachMistake proves the walk above can fail: each mistake it
// is there to catch is caught, and the forms the vocabulary allows pass.
func TestCheckerFindsEachMistake(t *testing.T) {
	l := newLoader(t, moduleRoot(t))
	for _, tc := range []struct {
		name, call, want string
	}{
		{"constants", `log.Info("m", logkey.Installation, name, logkey.Error, err)`, ""},
		{"attrs", `log.Warn("m", slog.String(logkey.Commit, name), slog.Any(logkey.Error, err))`, ""},
		{"short SHA in the message", `log.Info("applied "+logkey.ShortSHA(name), logkey.Commit, name)`, ""},
		{"attrs passed on", `log.LogAttrs(ctx, slog.LevelInfo, "m", attrs...)`, ""},
		{"string literal", `log.Info("m", "installation", name)`, `key "installation" is not a logkey constant`},
		{"camelCase constant of a package", `log.Error("m", retryIn, name)`, `key "retryIn" is not a logkey constant`},
		{"literal in With", `log.With("installation", name).Info("m")`, `key "installation" is not a logkey constant`},
		{"literal in an Attr", `log.Info("m", slog.Int("objects", 1))`, `key "objects" is not a logkey constant`},
		{"literal in a Group", `log.Info("m", slog.Group(logkey.Object, "kind", name))`, `key "kind" is not a logkey constant`},
		{"literal in an Attr literal", `log.LogAttrs(ctx, slog.LevelInfo, "m", slog.Attr{Key: "object"})`, `key "object" is not a logkey constant`},
		{"key from a variable", `log.Debug("m", name, 1)`, `key name is not a logkey constant`},
		{"context variant", `log.WarnContext(ctx, "m", "err", err)`, `key "err" is not a logkey constant`},
		{"error under another key", `log.Error("m", logkey.Reason, err)`, `error logged under key "reason"`},
		{"short SHA in a field", `log.Info("m", logkey.Commit, logkey.ShortSHA(name))`, `short SHA in field "commit"`},
		{"arguments passed on", `log.Error("m", args...)`, `arguments passed on with ...`},
		{"key without a value", `log.Info("m", logkey.Installation)`, `key "installation" has no value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `package p

import (
	"context"
	"log/slog"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

const retryIn = "retryIn"

func f(ctx context.Context, log *slog.Logger, name string, err error, attrs []slog.Attr, args []any) {
	` + tc.call + `
}
`
			pkg, err := l.checkFiles("example.com/p", map[string]string{"p.go": src})
			if err != nil {
				t.Fatal(err)
			}
			n, problems := checkCalls(l.fset, pkg)
			if n == 0 {
				t.Fatalf("found no log call in %s", tc.call)
			}
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("%s: unexpected problems %q", tc.call, problems)
			case tc.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], tc.want)):
				t.Errorf("%s: problems %q, want one containing %q", tc.call, problems, tc.want)
			}
		})
	}
}

// TestKeysAreSnakeCase checks the constants themselves: snake_case, named
// after their value, each value once.
func TestKeysAreSnakeCase(t *testing.T) {
	l := newLoader(t, moduleRoot(t))
	pkg, err := l.load(logkeyPath)
	if err != nil {
		t.Fatal(err)
	}
	byValue := map[string]string{}
	scope := pkg.types.Scope()
	for _, name := range scope.Names() {
		c, ok := scope.Lookup(name).(*types.Const)
		if !ok || !c.Exported() || c.Val().Kind() != constant.String {
			continue
		}
		v := constant.StringVal(c.Val())
		if !snakeCase.MatchString(v) {
			t.Errorf("logkey.%s = %q: keys are snake_case", name, v)
		}
		if strings.ReplaceAll(v, "_", "") != strings.ToLower(name) {
			t.Errorf("logkey.%s = %q: a key's name is its value in CamelCase", name, v)
		}
		if other, dup := byValue[v]; dup {
			t.Errorf("logkey.%s and logkey.%s are both %q: one key, one constant", other, name, v)
		}
		byValue[v] = name
	}
	if byValue["error"] != "Error" {
		t.Errorf(`logkey.Error must be "error", the key of every error`)
	}
	if len(byValue) < 10 {
		t.Fatalf("found %d keys in logkey; the walk misses them", len(byValue))
	}
}

// What a call to a function or method of log/slog takes.
type callKind int

const (
	notKeyed callKind = iota // no keys: slog.New, Logger.Handler, ...
	logCall                  // a message or a logger, then keys and values
	attr                     // one key and its value: slog.String, slog.Any, ...
	group                    // a key, then keys and values: slog.Group, Logger.WithGroup
)

// classify says what fn takes and returns the arguments from the first key
// on; an Attr's key is checked where the Attr is built.
func classify(fn *types.Func, call *ast.CallExpr) (callKind, []ast.Expr) {
	sig := fn.Type().(*types.Signature)
	if sig.Recv() != nil && !isSlog(sig.Recv().Type(), "Logger") {
		return notKeyed, nil
	}
	switch name := fn.Name(); {
	case name == "Group" || name == "WithGroup":
		return group, call.Args
	case sig.Recv() == nil && attrConstructors[name]:
		return attr, call.Args
	case logFuncs[name]:
		// The keys start after the fixed parameters: Info(msg, args...),
		// InfoContext(ctx, msg, args...), Log(ctx, level, msg, args...).
		fixed := sig.Params().Len() - 1
		if fixed > len(call.Args) {
			return notKeyed, nil
		}
		return logCall, call.Args[fixed:]
	}
	return notKeyed, nil
}

var attrConstructors = map[string]bool{
	"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true,
	"Bool": true, "Time": true, "Duration": true, "Any": true,
}

var logFuncs = map[string]bool{
	"Debug": true, "Info": true, "Warn": true, "Error": true, "DebugContext": true, "InfoContext": true,
	"WarnContext": true, "ErrorContext": true, "Log": true, "LogAttrs": true, "With": true,
}

// snakeCase is the one style of a key.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkCalls returns how many log calls pkg makes and what is wrong with them.
func checkCalls(fset *token.FileSet, pkg *loaded) (calls int, problems []string) {
	c := checker{fset: fset, info: pkg.info}
	for _, f := range pkg.files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if tv, ok := c.info.Types[n]; ok && isSlog(tv.Type, "Attr") {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok && types.ExprString(kv.Key) == "Key" {
							c.key(kv.Value)
						}
					}
				}
			case *ast.CallExpr:
				fn := calledFunc(c.info, n)
				if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != "log/slog" {
					return true
				}
				kind, args := classify(fn, n)
				switch kind {
				case logCall:
					calls++
					c.pairs(n, args)
				case attr:
					c.pairs(n, args)
				case group:
					if len(args) > 0 {
						c.key(args[0])
						c.pairs(n, args[1:])
					}
				}
			}
			return true
		})
	}
	return calls, c.problems
}

type checker struct {
	fset     *token.FileSet
	info     *types.Info
	problems []string
}

func (c *checker) report(at ast.Node, format string, args ...any) {
	c.problems = append(c.problems, c.fset.Position(at.Pos()).String()+": "+fmt.Sprintf(format, args...))
}

// pairs checks a list of keys and values as slog reads it: an Attr stands
// alone, anything else is a key followed by its value.
func (c *checker) pairs(call *ast.CallExpr, args []ast.Expr) {
	if call.Ellipsis.IsValid() && len(args) > 0 {
		if s, ok := c.info.Types[args[len(args)-1]].Type.(*types.Slice); !ok || !isSlog(s.Elem(), "Attr") {
			c.report(call, "arguments passed on with ...: pass slog.Attr values so that their keys can be checked")
		}
		args = args[:len(args)-1]
	}
	for i := 0; i < len(args); i++ {
		if isSlog(c.info.Types[args[i]].Type, "Attr") {
			continue
		}
		key := args[i]
		if !c.key(key) {
			i++
			continue
		}
		if i+1 == len(args) {
			c.report(key, "key %s has no value", c.keyName(key))
			continue
		}
		i++
		c.value(key, args[i])
	}
}

// key reports a key that is not a logkey constant, or not snake_case, and
// returns whether the key is one.
func (c *checker) key(e ast.Expr) bool {
	obj, _ := c.info.Uses[identOf(e)].(*types.Const)
	if obj == nil || obj.Pkg() == nil || obj.Pkg().Path() != logkeyPath {
		c.report(e, "key %s is not a logkey constant: add it to package logkey, snake_case, and use it", c.keyName(e))
		return false
	}
	if v := constant.StringVal(obj.Val()); !snakeCase.MatchString(v) {
		c.report(e, "key %q is not snake_case", v)
	}
	return true
}

// value reports an error under another key than logkey.Error, and a short
// SHA in a field.
func (c *checker) value(key, v ast.Expr) {
	name := c.keyName(key)
	if t := c.info.Types[v].Type; t != nil && t != types.Typ[types.Invalid] && types.Implements(t, errorType) && name != `"error"` {
		c.report(v, "error logged under key %s: errors go under logkey.Error", name)
	}
	if call, ok := v.(*ast.CallExpr); ok {
		if fn := calledFunc(c.info, call); fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == logkeyPath && fn.Name() == "ShortSHA" {
			c.report(v, "short SHA in field %s: fields carry the full SHA, messages the short one", name)
		}
	}
}

// keyName is a key as problems name it: its value when constant, else the
// expression.
func (c *checker) keyName(e ast.Expr) string {
	if tv := c.info.Types[e]; tv.Value != nil && tv.Value.Kind() == constant.String {
		return fmt.Sprintf("%q", constant.StringVal(tv.Value))
	}
	return types.ExprString(e)
}

var errorType = types.Universe.Lookup("error").Type().Underlying().(*types.Interface)

func identOf(e ast.Expr) *ast.Ident {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return e
	case *ast.SelectorExpr:
		return e.Sel
	}
	return nil
}

func calledFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	fn, _ := info.Uses[identOf(call.Fun)].(*types.Func)
	return fn
}

// isSlog reports whether t is log/slog's type name, or a pointer to it.
func isSlog(t types.Type, name string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "log/slog" && n.Obj().Name() == name
}

// loader type-checks the module's packages from source. Of the standard
// library it imports only what log calls are made of, from export data;
// other imports are left unresolved, which costs the checker nothing: the
// expressions it looks at are typed by log/slog and the module itself.
type loader struct {
	fset *token.FileSet
	root string            // the module's directory; files are named relative to it
	dirs map[string]string // import path → directory
	pkgs map[string]*loaded
	std  types.Importer
}

type loaded struct {
	types *types.Package
	info  *types.Info
	files []*ast.File
}

var stdImported = map[string]bool{"log/slog": true, "context": true, "errors": true, "fmt": true}

func newLoader(t *testing.T, root string) *loader {
	t.Helper()
	l := &loader{fset: token.NewFileSet(), root: root, dirs: map[string]string{}, pkgs: map[string]*loaded{}, std: importer.Default()}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if path != root {
			n := d.Name()
			if strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || n == "testdata" || n == "vendor" || n == "node_modules" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		l.dirs[strings.TrimSuffix(modulePath+"/"+filepath.ToSlash(rel), "/.")] = path
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.std.Import("log/slog"); err != nil {
		t.Fatalf("import log/slog from export data (needs the go command): %v", err)
	}
	return l
}

// paths returns the module's package paths, sorted.
func (l *loader) paths() []string {
	var ps []string
	for p := range l.dirs {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (l *loader) Import(path string) (*types.Package, error) {
	if l.dirs[path] != "" {
		p, err := l.load(path)
		if err != nil {
			return nil, err
		}
		return p.types, nil
	}
	if stdImported[path] {
		return l.std.Import(path)
	}
	return nil, fmt.Errorf("%s is not loaded", path)
}

// load type-checks the non-test files of the package at path, once. A
// directory without Go files loads as an empty package.
func (l *loader) load(path string) (*loaded, error) {
	if p, ok := l.pkgs[path]; ok {
		return p, nil
	}
	dir := l.dirs[path]
	bp, err := build.ImportDir(dir, 0)
	var noGo *build.NoGoError
	if err != nil && !errors.As(err, &noGo) {
		return nil, fmt.Errorf("package %s: %w", path, err)
	}
	srcs := map[string]string{}
	for _, name := range bp.GoFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(l.root, filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		srcs[filepath.ToSlash(rel)] = string(b)
	}
	return l.checkFiles(path, srcs)
}

func (l *loader) checkFiles(path string, srcs map[string]string) (*loaded, error) {
	p := &loaded{info: &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Uses:  map[*ast.Ident]types.Object{},
	}}
	for _, name := range slices.Sorted(maps.Keys(srcs)) {
		f, err := parser.ParseFile(l.fset, name, srcs[name], parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
	}
	// Errors are expected (imports left unresolved) and do not stop the
	// check; what they leave untyped the checker does not need.
	conf := types.Config{Importer: l, Error: func(error) {}}
	p.types, _ = conf.Check(path, l.fset, p.files, p.info)
	l.pkgs[path] = p
	return p, nil
}

// moduleRoot is the directory holding the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
