package render

import (
	"bufio"
	"io"
	"log"
	"strings"
	"sync"
)

// Kustomize prints its warnings instead of returning them: deprecation
// notices straight to standard error ("# Warning: 'commonLabels' is
// deprecated..."), others through the standard log package. While a build
// runs (builds are serialised), both are collected so that the Renderer
// logs them with its own logger, naming the kustomization.

// warningPrefix starts the deprecation notices kustomize writes to stderr.
const warningPrefix = "# Warning: "

// captureWarnings collects kustomize's warnings until the returned function
// is called, which returns them.
func captureWarnings() (stop func() []string) {
	var lines lineBuffer
	out, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(&lines)
	log.SetFlags(0)
	log.SetPrefix("")
	stopStderr := captureStderr(lines.add)
	return func() []string {
		stopStderr()
		log.SetOutput(out)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
		return lines.all()
	}
}

// lineBuffer collects lines; it is safe for concurrent use.
type lineBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.add(line)
	}
	return len(p), nil
}

func (l *lineBuffer) add(line string) {
	line = strings.TrimSpace(strings.TrimPrefix(line, warningPrefix))
	if line == "" {
		return
	}
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *lineBuffer) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines
}

// sortStderr copies what reaches standard error during a build to out,
// except kustomize's deprecation notices, which go to warn.
func sortStderr(r io.Reader, out io.Writer, warn func(string)) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(line, warningPrefix) {
			warn(line)
		} else if line != "" {
			_, _ = io.WriteString(out, line)
		}
		if err != nil {
			return
		}
	}
}
