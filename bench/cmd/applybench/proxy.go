package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// CountingProxy serves plain HTTP on loopback and forwards every request to
// the API server with the credentials of a rest.Config, logging each one.
// A program such as kubectl pointed at it has its requests counted the way
// testenv.CountRequests counts those of an in-process client.
type CountingProxy struct {
	listener net.Listener
	server   *http.Server

	mu  sync.Mutex
	log []string
}

// StartProxy starts a CountingProxy in front of the API server of cfg.
func StartProxy(cfg *rest.Config) (*CountingProxy, error) {
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &CountingProxy{listener: l}
	forward := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: transport,
	}
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.record(r)
		forward.ServeHTTP(w, r)
	})}
	go func() {
		if err := p.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic("bench: counting proxy: " + err.Error())
		}
	}()
	return p, nil
}

// URL is the proxy's address, http://127.0.0.1:<port>.
func (p *CountingProxy) URL() string { return "http://" + p.listener.Addr().String() }

// WriteKubeconfig writes a kubeconfig for the proxy, without credentials,
// to path.
func (p *CountingProxy) WriteKubeconfig(path string) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: p.URL()}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench", Namespace: "default"}
	kc.CurrentContext = "bench"
	return path, clientcmd.WriteToFile(*kc, path)
}

// Close stops the proxy.
func (p *CountingProxy) Close() error { return p.server.Close() }

func (p *CountingProxy) record(r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
}

// Reset forgets the requests logged so far.
func (p *CountingProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
}

// Log lists the requests since the last Reset as "METHOD path?query".
func (p *CountingProxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}
