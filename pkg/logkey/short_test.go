package logkey_test

import (
	"testing"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

func TestShortSHA(t *testing.T) {
	for sha, want := range map[string]string{
		"4b825dc642cb6eb9a060e54bf8d69288fbee4904": "4b825dc642cb",
		"4b825dc642cb": "4b825dc642cb",
		"4b82":         "4b82",
		"":             "",
	} {
		if got := logkey.ShortSHA(sha); got != want {
			t.Errorf("ShortSHA(%q) = %q, want %q", sha, got, want)
		}
	}
}
