package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gitopsd/gitopsd/internal/modules"
	"github.com/gitopsd/gitopsd/pkg/logkey"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// server is the daemon's HTTP endpoint; other modules add their handlers to
// its mux when they are initialised, before it starts serving.
type server struct {
	addr string
	mux  *http.ServeMux
	log  *slog.Logger
	l    net.Listener // set by Start
}

var (
	_ modules.Service = (*server)(nil)
	_ modules.Starter = (*server)(nil)
)

func newServer(addr string, mux *http.ServeMux, metrics *prometheus.Registry, ready func() error, log *slog.Logger) *server {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{Registry: metrics}))
	return &server{addr: addr, mux: mux, log: log}
}

// Start listens, so that a taken address fails before the other modules
// start.
func (s *server) Start(context.Context) error {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	s.l = l
	return nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *server) Run(ctx context.Context) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("serving HTTP", logkey.Addr, s.l.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
