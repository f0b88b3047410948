package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gitopsd/gitopsd/pkg/reconcile"
)

// daemon is a running gitopsd process.
type daemon struct {
	cmd *exec.Cmd
	// base is the URL of its HTTP server.
	base    string
	log     string
	started time.Time
	done    chan struct{}
	err     error
}

// startDaemon starts bin with args, which make it serve HTTP at addr, its
// output to logPath. The process is configured by its flags only, and its
// memory by its own defaults: GITOPSD_*, GOGC and GOMEMLIMIT are not
// passed on.
func startDaemon(bin, addr, logPath string, args ...string) (*daemon, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = daemonEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	d := &daemon{cmd: cmd, base: "http://" + addr, log: logPath, done: make(chan struct{})}
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() {
		d.err = cmd.Wait()
		logFile.Close()
		close(d.done)
	}()
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// daemonEnv is environ without what would configure the daemon.
func daemonEnv(environ []string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "GITOPSD_") && name != "GOGC" && name != "GOMEMLIMIT" {
			env = append(env, kv)
		}
	}
	return env
}

// stop ends the daemon with SIGTERM, and SIGKILL if it lingers.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(40 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// waitReady polls the status API until every installation of fleet is
// Ready at its commit, the daemon exits, or timeout passes.
func (d *daemon) waitReady(ctx context.Context, fleet *Fleet, timeout time.Duration) (*reconcile.Status, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	var last *reconcile.Status
	for {
		if body, err := get(ctx, d.base+"/api/v1/installations"); err == nil {
			var s reconcile.Status
			if err := json.Unmarshal([]byte(body), &s); err == nil {
				last = &s
				if allReady(&s, fleet) {
					return &s, nil
				}
			}
		}
		select {
		case <-tick.C:
		case <-d.done:
			return nil, fmt.Errorf("gitopsd exited before every installation was Ready: %v", d.err)
		case <-deadline.C:
			return nil, fmt.Errorf("not every installation Ready within %s: %s", timeout, summarize(last))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// allReady reports whether every installation of fleet is Ready at its
// commit.
func allReady(s *reconcile.Status, fleet *Fleet) bool {
	ready := 0
	for _, in := range s.Installations {
		if in.Phase == reconcile.Ready && in.AppliedCommit == fleet.Commit {
			ready++
		}
	}
	return ready == len(fleet.Installations)
}

// summarize says, per phase, which installations are in it.
func summarize(s *reconcile.Status) string {
	if s == nil {
		return "the status API never answered"
	}
	phases := map[reconcile.Phase][]string{}
	var order []reconcile.Phase
	for _, in := range s.Installations {
		if _, ok := phases[in.Phase]; !ok {
			order = append(order, in.Phase)
		}
		what := in.Name
		if in.Message != "" {
			what += " (" + oneLine(in.Message, 200) + ")"
		}
		phases[in.Phase] = append(phases[in.Phase], what)
	}
	var parts []string
	for _, p := range order {
		parts = append(parts, fmt.Sprintf("%s: %s", p, strings.Join(phases[p], ", ")))
	}
	if len(parts) == 0 {
		return "no installations yet"
	}
	return strings.Join(parts, "; ")
}

// logTail is the end of the daemon's log, for errors.
func (d *daemon) logTail() string {
	data, err := os.ReadFile(d.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = lines[max(0, len(lines)-20):]
	return "last lines of gitopsd's log:\n" + strings.Join(lines, "\n")
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// get fetches url and returns the body of a 200 answer.
func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", errors.New(res.Status)
	}
	return string(body), nil
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
