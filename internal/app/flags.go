package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitopsd/gitopsd/pkg/render"
	"github.com/gitopsd/gitopsd/pkg/source"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints usage to errOut.
func newFlagSet(name, usage string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage: gitopsd %s %s\n\nFlags (each also settable as GITOPSD_<FLAG>, e.g. %s):\n", name, usage, envExample(fs))
		fs.PrintDefaults()
	}
	return fs
}

// envExample is a GITOPSD_* variable the flag set has, for its usage text:
// every command has one of these flags.
func envExample(fs *flag.FlagSet) string {
	for _, name := range []string{"kubeconfig", "server"} {
		if fs.Lookup(name) != nil {
			return envName(name)
		}
	}
	return envName("repo")
}

// envName is the environment variable of a flag: GITOPSD_CACHE_DIR for
// --cache-dir.
func envName(flag string) string {
	return "GITOPSD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// alternatives are flags that exclude each other: one given on the command
// line makes the other's variable ignored, so that `kubectl exec` of
// `gitopsd diff --dir .` in a Pod whose environment sets GITOPSD_REPO works.
var alternatives = map[string]string{"repo": "dir", "dir": "repo"}

// parse parses args, then fills every flag not given on the command line
// from its GITOPSD_* environment variable (--cache-dir from
// GITOPSD_CACHE_DIR), except the variable of an alternative to a flag given.
// Positional arguments are refused.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		code := 2
		if errors.Is(err, flag.ErrHelp) {
			code = 0
		}
		return &ExitError{Code: code} // the flag package has printed it
	}
	if fs.NArg() > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unexpected argument %q; see 'gitopsd %s -h'", fs.Arg(0), fs.Name())}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Name)
		v, ok := os.LookupEnv(env)
		if !ok || set[f.Name] || set[alternatives[f.Name]] || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = &ExitError{Code: 2, Err: fmt.Errorf("%s=%q: %w%s", env, v, e, want(f.Value))}
		}
	})
	return err
}

// want says what form a flag's value takes, for the error of a variable
// that does not parse; the flag package's own errors say only "parse error".
func want(v flag.Value) string {
	g, ok := v.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case time.Duration:
		return "; want a duration such as 30s or 5m"
	case bool:
		return "; want true or false"
	case int, int64, uint, uint64:
		return "; want a whole number"
	case float64:
		return "; want a number"
	}
	return ""
}

// sourceFlags choose the repository: --repo (with --ref and credentials) or
// --dir.
type sourceFlags struct {
	repo, ref, dir, cacheDir string
	interval                 time.Duration // poll interval; set by run only
	timeout                  time.Duration
	auth                     source.Auth
	render                   render.Options
}

// register registers the flags of a command that takes --repo or --dir.
func (s *sourceFlags) register(fs *flag.FlagSet) {
	s.registerRepo(fs)
	fs.StringVar(&s.dir, "dir", "", "use the local directory `DIR` as it is instead of a repository: a fleet's root (with gitopsd.yaml), or one kustomization, built as kustomize build builds it")
}

// registerRepo registers the flags of a command that follows a repository
// and takes no --dir (run).
func (s *sourceFlags) registerRepo(fs *flag.FlagSet) {
	fs.StringVar(&s.repo, "repo", "", "Git repository URL (https://, ssh://, user@host:path, file:// or a local path)")
	fs.StringVar(&s.ref, "ref", "main", "branch, tag (refs/tags/NAME) or commit SHA to follow")
	fs.StringVar(&s.cacheDir, "cache-dir", defaultCacheDir("repos"), "where fetched repositories are kept between runs")
	fs.DurationVar(&s.timeout, "git-timeout", source.DefaultOptions().Timeout, "how long one look at the repository (ls-remote and fetch) may take")
	s.render = render.DefaultOptions()
	fs.BoolVar(&s.render.AllowRemote, "allow-remote-bases", false, "let kustomizations fetch remote bases and resources at render time")
	fs.BoolVar(&s.render.AllowHelm, "enable-helm", false, "let kustomizations inflate helmCharts with the helm binary")
	fs.StringVar(&s.auth.Username, "git-username", "", "HTTPS username (default "+source.DefaultTokenUsername+" when a password is given)")
	fs.StringVar(&s.auth.PasswordFile, "git-password-file", "", "file holding the HTTPS password or token")
	fs.StringVar(&s.auth.PasswordEnv, "git-password-env", "", "environment variable holding the HTTPS password or token")
	fs.StringVar(&s.auth.SSHKeyFile, "git-ssh-key-file", "", "SSH private key file")
	fs.StringVar(&s.auth.KnownHostsFile, "git-known-hosts-file", "", "known_hosts file to check the SSH server with")
	fs.BoolVar(&s.auth.InsecureIgnoreHostKey, "git-insecure-ignore-host-key", false, "accept any SSH host key (unsafe; for throw-away setups)")
}

func (s *sourceFlags) validate() error {
	if (s.repo == "") == (s.dir == "") {
		return &ExitError{Code: 2, Err: fmt.Errorf("give exactly one of --repo and --dir (as flags, or GITOPSD_REPO and GITOPSD_DIR)")}
	}
	return nil
}

// options returns the poller options for --repo.
func (s *sourceFlags) options() source.Options {
	opts := source.DefaultOptions()
	opts.URL, opts.Ref, opts.CacheDir, opts.Auth, opts.Timeout = s.repo, s.ref, s.cacheDir, s.auth, s.timeout
	if s.interval > 0 {
		opts.Interval = s.interval
		opts.MaxBackoff = max(opts.MaxBackoff, s.interval)
	}
	return opts
}

// name is the default installation name of a repository without gitopsd.yaml.
func (s *sourceFlags) name() string {
	if s.dir != "" {
		abs, err := filepath.Abs(s.dir)
		if err == nil {
			return filepath.Base(abs)
		}
		return s.dir
	}
	return strings.TrimSuffix(filepath.Base(strings.TrimRight(s.repo, "/")), ".git")
}

func defaultCacheDir(sub string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "gitopsd", sub)
}

// kubeFlags choose the cluster.
type kubeFlags struct {
	kubeconfig, context string
}

func (k *kubeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	fs.StringVar(&k.context, "context", "", "kubeconfig context (default the current one)")
}

// config loads the client configuration.
func (k *kubeFlags) config() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w", err)
	}
	cfg.UserAgent = "gitopsd"
	// The API server's priority and fairness limits gitopsd, not a
	// client-side rate limit.
	cfg.QPS, cfg.Burst = -1, 0
	return cfg, nil
}
