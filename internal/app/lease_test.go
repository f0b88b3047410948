package app

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestLeaseNameFollowsTheSourceIdentity derives the Lease of daemons
// given the same repository and ref spelled differently: they elect on one
// Lease; another repository or ref elects on another.
func TestLeaseNameFollowsTheSourceIdentity(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		repo, ref, id string
		source        string // cases of one source share a Lease
	}{
		{repo: "https://github.com/example/fleet", ref: "main", source: "fleet@main"},
		{repo: "https://GitHub.com/example/fleet.git", ref: "refs/heads/main", source: "fleet@main"},
		{repo: "git@github.com:example/fleet.git", ref: "main", source: "fleet@main"},
		{repo: "ssh://git@github.com:22/example/fleet/", ref: "refs/heads/main", source: "fleet@main"},
		{repo: "https://github.com/example/fleet", ref: "release", source: "fleet@release"},
		{repo: "https://github.com/example/fleet", ref: "refs/tags/release", source: "fleet@tag"},
		{repo: "https://github.com/example/other", ref: "main", source: "other@main"},
		{repo: "https://github.com:8443/example/fleet", ref: "main", source: "fleet on 8443@main"},
		{repo: "fleet", ref: "main", source: "local@main"},
		{repo: filepath.Join(wd, "fleet") + "/", ref: "refs/heads/main", source: "local@main"},
		{repo: "https://github.com/example/fleet", ref: "main", id: "my-lease", source: "my-lease"},
	}
	valid := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	leases := map[string]string{} // Lease name → source
	sources := map[string]string{}
	for _, c := range cases {
		f := runFlags{leaderElectionID: c.id}
		f.src.repo, f.src.ref = c.repo, c.ref
		name := f.leaseName()
		if !valid.MatchString(name) || len(name) > 63 {
			t.Errorf("%s %s: Lease %q is not a valid name", c.repo, c.ref, name)
		}
		if other, ok := leases[name]; ok && other != c.source {
			t.Errorf("%s %s: Lease %s, which %s elects on too", c.repo, c.ref, name, other)
		}
		if other, ok := sources[c.source]; ok && other != name {
			t.Errorf("%s %s: Lease %s; the same source spelled otherwise elects on %s", c.repo, c.ref, name, other)
		}
		leases[name], sources[c.source] = c.source, name
	}
	if sources["my-lease"] != "my-lease" {
		t.Errorf("--leader-election-id my-lease: Lease %s", sources["my-lease"])
	}
}
