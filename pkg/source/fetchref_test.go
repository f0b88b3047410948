package source

import (
	"context"
	"strings"
	"testing"

	"github.com/gitopsd/gitopsd/internal/gittest"
)

// TestFetchRef fetches a pull request's head by SHA from the followed
// repository into the poller's cache: once over the network, then from the
// cache, an older head after the ref moved on, and a clear error for a ref
// the repository does not have; the followed branch is polled as before.
func TestFetchRef(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	srv, err := gittest.NewServer(root)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	repo, err := gittest.NewRepo(root, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	commit := func(branch, msg string, files map[string]string) string {
		t.Helper()
		sha, err := repo.Commit(branch, msg, files)
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	mainSHA := commit("main", "fleet", map[string]string{"a.yaml": "main\n"})
	first := commit("change", "first", map[string]string{"a.yaml": "first\n"})
	if err := repo.SetRef("refs/pull/7/head", first); err != nil {
		t.Fatal(err)
	}
	p := newTestPoller(t, testOptions(srv.URL+"/fleet.git", "main", t.TempDir()), nil)
	if s := mustPoll(t, p); s.Commit != mainSHA {
		t.Fatalf("main at %s, want %s", s.Commit, mainSHA)
	}

	snap, err := p.FetchRef(ctx, "refs/pull/7/head", first)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != first || snap.Ref != "refs/pull/7/head" || readFile(t, snap, "a.yaml") != "first\n" {
		t.Fatalf("snapshot %s of %s reads %q", snap.Commit, snap.Ref, readFile(t, snap, "a.yaml"))
	}
	fetches := srv.Fetches.Load()
	if _, err := p.FetchRef(ctx, "refs/pull/7/head", strings.ToUpper(first)); err != nil {
		t.Fatal(err)
	}
	if srv.Fetches.Load() != fetches {
		t.Fatalf("a held commit was fetched again")
	}

	// The head moves on (a force-push); the old head is still served by SHA.
	second := commit("change", "second", map[string]string{"a.yaml": "second\n"})
	third := commit("change", "third", map[string]string{"a.yaml": "third\n"})
	if err := repo.SetRef("refs/pull/7/head", third); err != nil {
		t.Fatal(err)
	}
	if snap, err := p.FetchRef(ctx, "refs/pull/7/head", second); err != nil || readFile(t, snap, "a.yaml") != "second\n" {
		t.Fatalf("old head: %v", err)
	}
	if snap, err := p.FetchRef(ctx, "refs/pull/7/head", ""); err != nil || snap.Commit != third {
		t.Fatalf("current head: %s, %v; want %s", snap.Commit, err, third)
	}

	if _, err := p.FetchRef(ctx, "refs/pull/8/head", ""); err == nil || !strings.Contains(err.Error(), "refs/pull/8/head") || !strings.Contains(err.Error(), "no such ref") {
		t.Fatalf("missing ref: %v", err)
	}
	if _, err := p.FetchRef(ctx, "pull/7/head", ""); err == nil || !strings.Contains(err.Error(), "full ref name") {
		t.Fatalf("short ref name: %v", err)
	}

	newMain := commit("main", "main moves", map[string]string{"b.yaml": "b\n"})
	if s := mustPoll(t, p); s.Commit != newMain || readFile(t, s, "b.yaml") != "b\n" {
		t.Fatalf("main after the pull request fetches: %s", s.Commit)
	}
}
