package render

import (
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
)

// running is the kustomize build in progress; builds are serialised, so
// there is at most one.
var running atomic.Pointer[build]

// Kustomize fetches a remote file with a plain http.Client, so through
// http.DefaultTransport, from whichever field of a kustomization names an
// http(s) URL (patches, generator files and envs, replacements, openapi,
// crds, ...), and offers no way to give it another client. The hook below
// sees every such request before it leaves the process: one made by
// kustomize while a build runs asks the build, which refuses it unless
// remote content is allowed. Other requests pass as before. It is set up
// once, before main starts, so that no request races with it.
func init() {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.Proxy = guardProxy(t.Proxy)
		return
	}
	http.DefaultTransport = guardedTransport{http.DefaultTransport}
}

// guardProxy asks the running build about kustomize's requests, then
// leaves the proxy choice to next.
func guardProxy(next func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(req *http.Request) (*url.URL, error) {
		if err := checkRequest(req); err != nil {
			return nil, err
		}
		if next == nil {
			return nil, nil
		}
		return next(req)
	}
}

type guardedTransport struct{ next http.RoundTripper }

func (g guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	return g.next.RoundTrip(req)
}

// checkRequest returns the running build's answer to a request kustomize
// makes; requests made by anything else are no business of the build.
func checkRequest(req *http.Request) error {
	b := running.Load()
	if b == nil || !madeByKustomize() {
		return nil
	}
	return b.request(req.URL.String())
}

// madeByKustomize reports whether kustomize is on the calling goroutine's
// stack: the transport calls the proxy function on the goroutine that
// sends the request.
func madeByKustomize() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "sigs.k8s.io/kustomize/") {
			return true
		}
		if !more {
			return false
		}
	}
}
