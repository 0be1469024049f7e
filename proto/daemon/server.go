package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// NewRegistry returns a metrics registry holding the Go runtime and process collectors,
// the base every daemon's /metrics starts from.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	addStandardCollectors(reg)
	return reg
}

// addStandardCollectors registers the Go and process collectors, tolerating a registry
// that already has them.
func addStandardCollectors(reg prometheus.Registerer) {
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				klog.ErrorS(err, "Registering standard metrics collector")
			}
		}
	}
}

// Server is a daemon's HTTP endpoint for /healthz, /livez, /readyz (each with named
// checks; see AddHealthCheck), /metrics, and whatever else the daemon adds with Handle.
type Server struct {
	// ShutdownTimeout bounds the graceful stop: requests still running after it are cut.
	ShutdownTimeout time.Duration

	component string
	registry  *prometheus.Registry
	mux       *http.ServeMux

	mu                     sync.RWMutex
	healthz, livez, readyz []HealthCheck
}

// NewServer returns a server for the named component ("kube-scheduler"; it appears in
// errors). /metrics serves reg, to which the Go and process collectors are added; nil
// means NewRegistry().
func NewServer(component string, reg *prometheus.Registry) *Server {
	if reg == nil {
		reg = NewRegistry()
	} else {
		addStandardCollectors(reg)
	}
	s := &Server{
		ShutdownTimeout: 10 * time.Second,
		component:       component,
		registry:        reg,
		mux:             http.NewServeMux(),
		healthz:         []HealthCheck{PingCheck},
		livez:           []HealthCheck{PingCheck},
		readyz:          []HealthCheck{PingCheck},
	}
	for _, ep := range []string{"healthz", "livez", "readyz"} {
		s.installHealth(ep)
	}
	s.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: promLogger{}}))
	return s
}

// Registry returns the registry /metrics serves.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Handle adds a handler, with http.ServeMux patterns.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc adds a handler function, with http.ServeMux patterns.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.mux.HandleFunc(pattern, h)
}

// Handler returns the server's handler, for tests and for serving it on a listener of
// one's own.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds addr. The error names what to do about it: flag is the flag that set addr
// ("--port", "healthz-bind-address"), so a start-up error reads
//
//	listen tcp 0.0.0.0:10251: bind: address already in use (is another kube-scheduler running? change --port)
//
// Binding before the daemon starts its work lets it fail fast on a taken port.
func (s *Server) Listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if flag != "" && !strings.HasPrefix(flag, "-") {
		flag = "--" + flag
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		if flag == "" {
			return nil, fmt.Errorf("%w (is another %s running?)", err, s.component)
		}
		return nil, fmt.Errorf("%w (is another %s running? change %s)", err, s.component, flag)
	}
	if flag == "" {
		return nil, err
	}
	return nil, fmt.Errorf("%w (check %s)", err, flag)
}

// Serve serves on ln until ctx ends, then stops gracefully: no new connections, running
// requests get ShutdownTimeout to finish. It returns nil after a stop asked for by ctx,
// and the error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler: s.mux,
		// Bounds how long a client may take to send headers (slowloris); handlers that
		// stream (watch, logs -f) are unaffected.
		ReadHeaderTimeout: 30 * time.Second,
	}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		klog.InfoS("HTTP server did not stop in time, closing connections", "component", s.component, "address", ln.Addr().String(), "err", err)
		srv.Close()
	}
	<-errCh // http.ErrServerClosed
	return nil
}

// ListenAndServe is Listen then Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr, flag string) error {
	ln, err := s.Listen(addr, flag)
	if err != nil {
		return err
	}
	klog.InfoS("Serving health and metrics", "component", s.component, "address", ln.Addr().String())
	return s.Serve(ctx, ln)
}

// promLogger sends promhttp's errors to klog.
type promLogger struct{}

func (promLogger) Println(v ...any) { klog.ErrorS(nil, fmt.Sprint(v...), "handler", "/metrics") }
