package github

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// tokenSource hands out the API token. A token from a file is read again
// when the file changes (a Kubernetes Secret rotated in place); a failed or
// empty read keeps the previous token, since a Secret update swaps files
// and may be caught half-way.
type tokenSource struct {
	file string
	log  *slog.Logger

	mu      sync.Mutex // guards the fields below
	token   string
	modTime time.Time
	size    int64
}

func newTokenSource(o Options, log *slog.Logger) (*tokenSource, error) {
	if o.TokenEnv != "" {
		v := strings.TrimSpace(os.Getenv(o.TokenEnv))
		if v == "" {
			return nil, fmt.Errorf("github: token environment variable %s is not set or empty", o.TokenEnv)
		}
		return &tokenSource{token: v, log: log}, nil
	}
	s := &tokenSource{file: o.TokenFile, log: log}
	fi, err := os.Stat(o.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("github: token file: %w", err)
	}
	tok, err := readToken(o.TokenFile)
	if err != nil {
		return nil, err
	}
	s.token, s.modTime, s.size = tok, fi.ModTime(), fi.Size()
	return s, nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("github: token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("github: token file %s is empty", path)
	}
	return tok, nil
}

// get returns the current token; a stat per request is cheap next to the
// request itself.
func (s *tokenSource) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == "" {
		return s.token
	}
	fi, err := os.Stat(s.file)
	if err != nil || (fi.ModTime().Equal(s.modTime) && fi.Size() == s.size) {
		return s.token
	}
	tok, err := readToken(s.file)
	if err != nil {
		s.log.Warn("github token file changed but cannot be read; keeping the previous token", logkey.TokenFile, s.file, logkey.Error, err)
		return s.token
	}
	s.token, s.modTime, s.size = tok, fi.ModTime(), fi.Size()
	return s.token
}
