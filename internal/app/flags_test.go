package app

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunHasNoDir: run follows a repository, so its help does not offer
// --dir and the flag is refused as unknown.
func TestRunHasNoDir(t *testing.T) {
	_, help, code := gitopsd(t, "run", "-h")
	if code != 0 || strings.Contains(help, "\n  -dir ") {
		t.Errorf("run -h: exit %d\n%s", code, help)
	}
	_, stderr, code := gitopsd(t, "run", "--dir", ".")
	if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -dir") {
		t.Errorf("run --dir: exit %d, stderr %q", code, stderr)
	}
}

// TestHelpTexts: each default is said once, and the example variable is
// one the command has.
func TestHelpTexts(t *testing.T) {
	_, help, _ := gitopsd(t, "run", "-h")
	_, after, _ := strings.Cut(help, "-leader-election-namespace")
	line, _, _ := strings.Cut(strings.TrimLeft(after, " string\n\t"), "\n")
	if strings.Count(line, "default") != 1 {
		t.Errorf("--leader-election-namespace help says its default %d times: %q", strings.Count(line, "default"), line)
	}
	for _, cmd := range []string{"status", "promote", "rollback"} {
		_, help, _ := gitopsd(t, cmd, "-h")
		if strings.Contains(help, "GITOPSD_KUBECONFIG") || !strings.Contains(help, "GITOPSD_SERVER") {
			t.Errorf("%s -h names a variable it does not have:\n%s", cmd, help)
		}
	}
}

// TestEnvironmentErrorsSayTheForm: a variable that does not parse names
// itself and the form its value takes.
func TestEnvironmentErrorsSayTheForm(t *testing.T) {
	t.Setenv("GITOPSD_INTERVAL", "banana")
	_, stderr, code := gitopsd(t, "run", "--repo", "https://git.example.com/fleet.git")
	if code != 2 || !strings.Contains(stderr, `GITOPSD_INTERVAL="banana"`) || !strings.Contains(stderr, "a duration such as 30s or 5m") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestDirFlagIgnoresRepoVariable: in a Pod whose environment sets
// GITOPSD_REPO, `gitopsd render --dir` renders the directory; with both
// variables set, the error names them.
func TestDirFlagIgnoresRepoVariable(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "repo")
	t.Setenv("GITOPSD_REPO", "https://git.example.com/fleet.git")
	out, stderr, code := gitopsd(t, "render", "--dir", dir, "--installation", "mattermost-staging")
	if code != 0 || !strings.Contains(out, "kind: Deployment") {
		t.Fatalf("render --dir with GITOPSD_REPO set: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("GITOPSD_DIR", dir)
	_, stderr, code = gitopsd(t, "render")
	if code != 2 || !strings.Contains(stderr, "GITOPSD_REPO") {
		t.Errorf("both variables: exit %d, stderr %q", code, stderr)
	}
}

// TestErrorsLeaveTheProgramNameToMain: main prefixes every error with
// "gitopsd: ", so errors do not start with it themselves.
func TestErrorsLeaveTheProgramNameToMain(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "token", "t\n")
	for _, args := range [][]string{
		{"rollback", "--server", "http://127.0.0.1:1", "--api-token-file", filepath.Join(dir, "token"), "checkout"},
		{"status", "--server", "http://127.0.0.1:1"},
		{"run"},
	} {
		_, stderr, code := gitopsd(t, args...)
		if code == 0 || stderr == "" || strings.HasPrefix(stderr, "gitopsd") {
			t.Errorf("%s: exit %d, stderr %q", args[0], code, stderr)
		}
	}
}
