//go:build unix

package render

import (
	"os"

	"golang.org/x/sys/unix"
)

// captureStderr points the process's standard error (descriptor 2, which
// kustomize writes to through os.Stderr) at a pipe until the returned
// function is called. What arrives is sorted by sortStderr: kustomize's
// notices go to warn, everything else (other goroutines' output) on to the
// real standard error as it comes. The descriptor is swapped rather than
// the os.Stderr variable, which other goroutines read without a lock.
func captureStderr(warn func(string)) (stop func()) {
	saved, err := unix.FcntlInt(2, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return func() {} // no standard error to capture
	}
	r, w, err := os.Pipe()
	if err != nil {
		unix.Close(saved)
		return func() {}
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		r.Close()
		w.Close()
		unix.Close(saved)
		return func() {}
	}
	out := os.NewFile(uintptr(saved), "stderr")
	done := make(chan struct{})
	go func() {
		defer close(done)
		sortStderr(r, out, warn)
	}()
	return func() {
		_ = unix.Dup2(saved, 2)
		w.Close() // the last writer: the pipe ends
		<-done
		r.Close()
		out.Close()
	}
}
