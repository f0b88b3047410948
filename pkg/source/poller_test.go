package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPollHTTPFollowsBranch(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	srv := newGitServer(t, root, "", "")
	p := newTestPoller(t, testOptions(srv.URL+"/fleet.git", "main", t.TempDir()), nil)

	first := mustPoll(t, p)
	if first.Commit != repo.head() {
		t.Fatalf("commit = %s, want %s", first.Commit, repo.head())
	}
	if got := readFile(t, first, "gitopsd.yaml"); got != "installations: []\n" {
		t.Fatalf("gitopsd.yaml = %q", got)
	}
	if first.URL != srv.URL+"/fleet.git" || first.Ref != "main" || first.Message != "initial" ||
		first.Author != "Test Author <author@example.com>" || first.Time.IsZero() {
		t.Fatalf("snapshot metadata = %+v", first)
	}
	select {
	case <-p.Updates():
	default:
		t.Fatal("no update after the first snapshot")
	}

	t.Run("no change costs one round trip and no fetch", func(t *testing.T) {
		srv.reset()
		s := mustPoll(t, p)
		if s.Commit != first.Commit {
			t.Fatalf("commit = %s, want %s", s.Commit, first.Commit)
		}
		if refs, packs := srv.counts(); refs != 1 || packs != 0 {
			t.Fatalf("requests: info/refs=%d upload-pack=%d, want 1 and 0", refs, packs)
		}
		select {
		case <-p.Updates():
			t.Fatal("update without a new commit")
		default:
		}
	})

	t.Run("new commit gives a new snapshot", func(t *testing.T) {
		want := repo.commit("add web", map[string]string{"apps/web/kustomization.yaml": "resources: []\n"})
		srv.reset()
		s := mustPoll(t, p)
		if s.Commit != want {
			t.Fatalf("commit = %s, want %s", s.Commit, want)
		}
		if got := readFile(t, s, "apps/web/kustomization.yaml"); got != "resources: []\n" {
			t.Fatalf("kustomization = %q", got)
		}
		if _, packs := srv.counts(); packs != 1 {
			t.Fatalf("upload-pack requests = %d, want 1 (one shallow fetch)", packs)
		}
		// The earlier snapshot is a value: it still shows its own commit.
		if _, err := first.Files.Open("apps/web/kustomization.yaml"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("old snapshot sees a later file: %v", err)
		}
		select {
		case <-p.Updates():
		default:
			t.Fatal("no update after a new commit")
		}
	})

	t.Run("force-push is followed", func(t *testing.T) {
		before := repo.head()
		want := repo.amend("rewritten", map[string]string{"apps/web/kustomization.yaml": "resources: [deploy.yaml]\n"})
		if want == before {
			t.Fatal("amend did not change the commit")
		}
		s := mustPoll(t, p)
		if s.Commit != want || s.Message != "rewritten" {
			t.Fatalf("snapshot = %s %q, want %s", s.Commit, s.Message, want)
		}
		if got := readFile(t, s, "apps/web/kustomization.yaml"); got != "resources: [deploy.yaml]\n" {
			t.Fatalf("kustomization = %q", got)
		}
	})

	t.Run("force-push back to a held commit needs no fetch", func(t *testing.T) {
		repo.git("push", "--quiet", "--force", "origin", first.Commit+":refs/heads/main")
		srv.reset()
		s := mustPoll(t, p)
		if s.Commit != first.Commit {
			t.Fatalf("commit = %s, want %s", s.Commit, first.Commit)
		}
		if refs, packs := srv.counts(); refs != 1 || packs != 0 {
			t.Fatalf("requests: info/refs=%d upload-pack=%d, want 1 and 0", refs, packs)
		}
	})

	st := p.Status()
	if st.Commit != first.Commit || st.LastError != nil || st.ConsecutiveFailures != 0 || st.LastSuccess.IsZero() {
		t.Fatalf("status = %+v", st)
	}
}

func TestPollCacheSurvivesRestart(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	srv := newGitServer(t, root, "", "")
	opts := testOptions(srv.URL+"/fleet.git", "main", t.TempDir())
	mustPoll(t, newTestPoller(t, opts, nil))

	srv.reset()
	s := mustPoll(t, newTestPoller(t, opts, nil))
	if s.Commit != repo.head() {
		t.Fatalf("commit = %s, want %s", s.Commit, repo.head())
	}
	if refs, packs := srv.counts(); refs != 1 || packs != 0 {
		t.Fatalf("requests after restart: info/refs=%d upload-pack=%d, want 1 and 0", refs, packs)
	}
	if got := readFile(t, s, "gitopsd.yaml"); got != "installations: []\n" {
		t.Fatalf("gitopsd.yaml = %q", got)
	}
}

func TestPollCorruptCacheIsRecreated(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	srv := newGitServer(t, root, "", "")
	opts := testOptions(srv.URL+"/fleet.git", "main", t.TempDir())
	mustPoll(t, newTestPoller(t, opts, nil))

	packs, err := filepath.Glob(filepath.Join(opts.CacheDir, "*", "objects", "pack", "*.pack"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("no pack files in the cache (%v)", err)
	}
	for _, p := range packs {
		if err := os.WriteFile(p, []byte("not a pack"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	log, logs := newTestLogger(t)
	s := mustPoll(t, newTestPoller(t, opts, log))
	if s.Commit != repo.head() {
		t.Fatalf("commit = %s, want %s", s.Commit, repo.head())
	}
	if got := readFile(t, s, "gitopsd.yaml"); got != "installations: []\n" {
		t.Fatalf("gitopsd.yaml = %q", got)
	}
	if !strings.Contains(logs.String(), "cache is corrupt, re-creating") {
		t.Fatalf("no log line about the corrupt cache:\n%s", logs)
	}
}

func TestPollCorruptCacheConfigIsRecreated(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	opts := testOptions(repo.bare, "main", t.TempDir())
	mustPoll(t, newTestPoller(t, opts, nil))
	configs, _ := filepath.Glob(filepath.Join(opts.CacheDir, "*", "config"))
	if len(configs) != 1 {
		t.Fatalf("cache config files = %v", configs)
	}
	if err := os.WriteFile(configs[0], []byte("[core\ngarbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	log, logs := newTestLogger(t)
	if s := mustPoll(t, newTestPoller(t, opts, log)); s.Commit != repo.head() {
		t.Fatalf("commit = %s, want %s", s.Commit, repo.head())
	}
	if !strings.Contains(logs.String(), "cache is corrupt") {
		t.Fatalf("no log line about the corrupt cache:\n%s", logs)
	}
}

func TestPollLocalRepositories(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	for name, url := range map[string]string{
		"file URL":   "file://" + repo.bare,
		"plain path": repo.bare,
	} {
		t.Run(name, func(t *testing.T) {
			p := newTestPoller(t, testOptions(url, "main", t.TempDir()), nil)
			if s := mustPoll(t, p); s.Commit != repo.head() {
				t.Fatalf("commit = %s, want %s", s.Commit, repo.head())
			}
		})
	}

	t.Run("relative path", func(t *testing.T) {
		t.Chdir(root)
		p := newTestPoller(t, testOptions("./fleet.git", "main", t.TempDir()), nil)
		if s := mustPoll(t, p); s.Commit != repo.head() || s.URL != "./fleet.git" {
			t.Fatalf("snapshot %s from %s, want %s", s.Commit, s.URL, repo.head())
		}
	})

	t.Run("follows new commits", func(t *testing.T) {
		p := newTestPoller(t, testOptions("file://"+repo.bare, "main", t.TempDir()), nil)
		mustPoll(t, p)
		want := repo.commit("second", map[string]string{"a.yaml": "a: 1\n"})
		s := mustPoll(t, p)
		if s.Commit != want || readFile(t, s, "a.yaml") != "a: 1\n" {
			t.Fatalf("snapshot %s, want %s with a.yaml", s.Commit, want)
		}
	})
}

func TestPollTags(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	srv := newGitServer(t, root, "", "")
	url := srv.URL + "/fleet.git"
	v1 := repo.commit("v1", map[string]string{"version": "1\n"})
	repo.git("tag", "v1")                            // lightweight
	repo.git("tag", "-a", "-m", "release v1", "v1a") // annotated
	repo.git("push", "--quiet", "origin", "v1", "v1a")
	repo.commit("after v1", map[string]string{"version": "2\n"})

	for _, ref := range []string{"refs/tags/v1", "refs/tags/v1a"} {
		t.Run(ref, func(t *testing.T) {
			p := newTestPoller(t, testOptions(url, ref, t.TempDir()), nil)
			s := mustPoll(t, p)
			if s.Commit != v1 || readFile(t, s, "version") != "1\n" {
				t.Fatalf("snapshot %s, want %s at version 1", s.Commit, v1)
			}
			srv.reset()
			mustPoll(t, p)
			if refs, packs := srv.counts(); refs != 1 || packs != 0 {
				t.Fatalf("unchanged tag: info/refs=%d upload-pack=%d, want 1 and 0", refs, packs)
			}
		})
	}

	t.Run("moved tag is followed", func(t *testing.T) {
		p := newTestPoller(t, testOptions(url, "refs/tags/v1", t.TempDir()), nil)
		mustPoll(t, p)
		repo.git("tag", "-f", "v1")
		repo.git("push", "--quiet", "--force", "origin", "v1")
		if s := mustPoll(t, p); s.Commit != repo.head() {
			t.Fatalf("snapshot %s, want moved tag at %s", s.Commit, repo.head())
		}
	})

	t.Run("plain name of a tag says how to follow it", func(t *testing.T) {
		p := newTestPoller(t, testOptions(url, "v1", t.TempDir()), nil)
		_, err := p.Poll(context.Background())
		if ReasonOf(err) != ReasonRefNotFound || !strings.Contains(err.Error(), `set the ref to "refs/tags/v1"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPollPinnedCommit(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	old := repo.commit("old", map[string]string{"version": "old\n"})
	tip := repo.commit("tip", map[string]string{"version": "tip\n"})
	srv := newGitServer(t, root, "", "")
	url := srv.URL + "/fleet.git"

	t.Run("tip commit", func(t *testing.T) {
		s := mustPoll(t, newTestPoller(t, testOptions(url, tip, t.TempDir()), nil))
		if s.Commit != tip || s.Ref != tip || readFile(t, s, "version") != "tip\n" {
			t.Fatalf("snapshot %s, want %s", s.Commit, tip)
		}
	})

	t.Run("older commit needs the server to allow it", func(t *testing.T) {
		_, err := newTestPoller(t, testOptions(url, old, t.TempDir()), nil).Poll(context.Background())
		if ReasonOf(err) != ReasonUnsupported || !strings.Contains(err.Error(), "pin a tag") {
			t.Fatalf("err = %v", err)
		}
	})

	runGit(t, repo.bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
	opts := testOptions(url, strings.ToUpper(old), t.TempDir())

	t.Run("older commit", func(t *testing.T) {
		p := newTestPoller(t, opts, nil)
		s := mustPoll(t, p)
		if s.Commit != old || readFile(t, s, "version") != "old\n" {
			t.Fatalf("snapshot %s, want %s", s.Commit, old)
		}
		srv.reset()
		mustPoll(t, p)
		if refs, packs := srv.counts(); refs != 0 || packs != 0 {
			t.Fatalf("held pin: info/refs=%d upload-pack=%d, want no requests", refs, packs)
		}
	})

	t.Run("held in the cache needs no network", func(t *testing.T) {
		srv.reset()
		restarted := opts
		// Not even credentials are read when nothing needs fetching.
		restarted.Auth = Auth{PasswordFile: filepath.Join(t.TempDir(), "absent")}
		s := mustPoll(t, newTestPoller(t, restarted, nil))
		if s.Commit != old {
			t.Fatalf("snapshot %s, want %s", s.Commit, old)
		}
		if refs, packs := srv.counts(); refs != 0 || packs != 0 {
			t.Fatalf("held pin after restart: info/refs=%d upload-pack=%d, want no requests", refs, packs)
		}
	})

	t.Run("unknown commit", func(t *testing.T) {
		missing := strings.Repeat("ab", 20)
		_, err := newTestPoller(t, testOptions(url, missing, t.TempDir()), nil).Poll(context.Background())
		want := `commit "` + missing + `" not found in ` + url
		if ReasonOf(err) != ReasonRefNotFound || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("err = %v, want it to start with %s", err, want)
		}
	})
}

// Two Pollers following different refs of one URL share a cache repository;
// the cache lock keeps their fetches from interleaving.
func TestPollersShareACache(t *testing.T) {
	root := t.TempDir()
	repo := newTestRepo(t, root, "fleet")
	repo.git("push", "--quiet", "origin", "main:release")
	cacheDir := t.TempDir()
	url := "file://" + repo.bare
	a := newTestPoller(t, testOptions(url, "main", cacheDir), nil)
	b := newTestPoller(t, testOptions(url, "release", cacheDir), nil)
	for i := range 3 {
		want := repo.commit("round", map[string]string{"round": strings.Repeat("x", i+1) + "\n"})
		repo.git("push", "--quiet", "--force", "origin", "HEAD:release")
		errs := make(chan error, 2)
		for _, p := range []*Poller{a, b} {
			go func() {
				s, err := p.Poll(context.Background())
				if err == nil && s.Commit != want {
					err = errors.New("snapshot of " + s.Commit + ", want " + want)
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	if dirs, _ := filepath.Glob(filepath.Join(cacheDir, "*.git")); len(dirs) != 1 {
		t.Fatalf("cache repositories = %v, want one per URL", dirs)
	}
}
