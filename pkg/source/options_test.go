package source

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	valid := DefaultOptions()
	valid.URL = "https://github.com/example/fleet.git"
	valid.CacheDir = "/var/cache/gitopsd"
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	tests := map[string]struct {
		mod  func(*Options)
		want string
	}{
		"no URL":            {func(o *Options) { o.URL = "" }, "repository URL is empty"},
		"no ref":            {func(o *Options) { o.Ref = "" }, "ref is empty"},
		"no cache":          {func(o *Options) { o.CacheDir = "" }, "cache directory is empty"},
		"zero interval":     {func(o *Options) { o.Interval = 0 }, "interval 0s must be positive"},
		"zero timeout":      {func(o *Options) { o.Timeout = 0 }, "timeout 0s must be positive"},
		"small max backoff": {func(o *Options) { o.MaxBackoff = time.Second }, "max backoff 1s must be at least the interval 1m0s"},
		"ssh key on https": {func(o *Options) {
			o.Auth = Auth{SSHKeyFile: "/k", KnownHostsFile: "/kh"}
		}, "an SSH key cannot be used with an https URL"},
		"password on ssh": {func(o *Options) {
			o.URL = "git@github.com:example/fleet.git"
			o.Auth = Auth{PasswordFile: "/p"}
		}, "a password cannot be used with an ssh URL"},
		"ssh without key": {func(o *Options) { o.URL = "git@github.com:example/fleet.git" }, "an ssh URL needs an SSH key file"},
		"credentials for a local path": {func(o *Options) {
			o.URL = "/srv/git/fleet.git"
			o.Auth = Auth{PasswordEnv: "X"}
		}, "local repositories take no credentials"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			o := valid
			tt.mod(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}

	t.Run("all problems at once", func(t *testing.T) {
		err := Options{}.Validate()
		for _, want := range []string{"URL", "ref", "cache", "interval", "timeout"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v, want it to mention %s", err, want)
			}
		}
	})
}

func TestAuthValidate(t *testing.T) {
	for _, ok := range []Auth{
		{},
		{PasswordFile: "/p"},
		{Username: "u", PasswordEnv: "TOKEN"},
		{SSHKeyFile: "/k", KnownHostsFile: "/kh"},
		{SSHKeyFile: "/k", InsecureIgnoreHostKey: true},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for bad, want := range map[Auth]string{
		{PasswordFile: "/p", PasswordEnv: "X"}: "only one of",
		{Username: "u"}:                        "a username needs a password",
		{SSHKeyFile: "/k", PasswordFile: "/p", KnownHostsFile: "/kh"}: "either an SSH key or an HTTPS password",
		{KnownHostsFile: "/kh"}: "need an SSH key file",
		{SSHKeyFile: "/k"}:      "needs a known hosts file",
		{SSHKeyFile: "/k", KnownHostsFile: "/kh", InsecureIgnoreHostKey: true}: "either a known hosts file or insecure",
	} {
		err := bad.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: Validate() = %v, want %q", bad, err, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	const i, max = time.Minute, 10 * time.Minute
	for failures, want := range map[int]time.Duration{
		0: i, 1: i, 2: 2 * i, 3: 4 * i, 4: 8 * i, 5: max, 50: max,
	} {
		if got := backoff(i, max, failures); got != want {
			t.Errorf("backoff after %d failures = %s, want %s", failures, got, want)
		}
	}
	if lo, hi := spread(time.Minute, 0), spread(time.Minute, 0.999999); lo != 54*time.Second || hi < 65*time.Second || hi > 66*time.Second {
		t.Errorf("spread range = [%s, %s], want [54s, 66s)", lo, hi)
	}
}
