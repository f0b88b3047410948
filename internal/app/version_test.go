package app

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersionPrintsVersionCommitAndGo(t *testing.T) {
	oldVersion, oldCommit := version, commit
	t.Cleanup(func() { version, commit = oldVersion, oldCommit })
	version, commit = "v1.4.2", "0123456789abcdef0123456789abcdef01234567"

	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, code := gitopsd(t, args...)
		want := "gitopsd v1.4.2 (commit 0123456789abcdef0123456789abcdef01234567, " + runtime.Version() + ")\n"
		if code != 0 || out != want {
			t.Errorf("gitopsd %s: exit %d, %q, want %q", args[0], code, out, want)
		}
	}

	// Built without -ldflags, the commit comes from the build's VCS
	// stamp, or says it is unknown; it is never empty.
	version, commit = "dev", ""
	out, _, _ := gitopsd(t, "version")
	if !strings.HasPrefix(out, "gitopsd dev (commit ") || strings.Contains(out, "(commit ,") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("gitopsd version without ldflags: %q", out)
	}
}
