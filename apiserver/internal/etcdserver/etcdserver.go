// Package etcdserver runs an embedded single-member etcd, which kube-apiserver uses when
// --etcd-servers is unset (design.md §3) and which every storage test runs against.
package etcdserver

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// Config of an embedded etcd. A port of 0 in either URL picks a free port; Endpoints
// reports the one chosen.
type Config struct {
	// DataDir holds the member's WAL and snapshots; it survives restarts.
	DataDir string
	// ListenClientURL is where clients connect, e.g. "http://127.0.0.1:2379".
	ListenClientURL string
	// ListenPeerURL is the raft peer URL, e.g. "http://127.0.0.1:2380". A single member
	// never dials it, but etcd insists on one.
	ListenPeerURL string
	// UnsafeNoFsync skips fsync: for tests only, a crash loses data.
	UnsafeNoFsync bool
	// HeartbeatInterval and ElectionTimeout are raft's timings (defaults 100ms and 1s, as
	// etcd's). A lone member still waits out an election at start, so tests shorten them.
	HeartbeatInterval, ElectionTimeout time.Duration
	// StartTimeout bounds the wait for the member to become ready (default 60s).
	StartTimeout time.Duration
}

// Server is a running embedded etcd.
type Server struct {
	etcd      *embed.Etcd
	closing   *atomic.Bool
	closeOnce sync.Once
}

// Start launches the member and waits until it serves clients or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("etcd: a data directory is required (--data-dir)")
	}
	curl, err := parseURL("client", cfg.ListenClientURL, "http://127.0.0.1:2379")
	if err != nil {
		return nil, err
	}
	purl, err := parseURL("peer", cfg.ListenPeerURL, "http://127.0.0.1:2380")
	if err != nil {
		return nil, err
	}

	ec := embed.NewConfig()
	ec.Name = "default"
	ec.Dir = cfg.DataDir
	ec.ListenClientUrls = []url.URL{*curl}
	ec.AdvertiseClientUrls = []url.URL{*curl}
	ec.ListenPeerUrls = []url.URL{*purl}
	ec.AdvertisePeerUrls = []url.URL{*purl}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	// etcd logs every request at info level; the apiserver only wants to hear about
	// trouble, and not about the listeners it closes itself on shutdown.
	closing := &atomic.Bool{}
	lg, err := newLogger(closing)
	if err != nil {
		return nil, err
	}
	ec.Logger = "zap"
	ec.LogLevel = "error"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	// The HTTP gateway dials the configured client address, which is wrong for port 0, and
	// the apiserver only speaks gRPC to etcd.
	ec.EnableGRPCGateway = false
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	if cfg.HeartbeatInterval > 0 {
		ec.TickMs = uint(cfg.HeartbeatInterval / time.Millisecond)
	}
	if cfg.ElectionTimeout > 0 {
		ec.ElectionMs = uint(cfg.ElectionTimeout / time.Millisecond)
	}
	// The apiserver compacts on its own schedule (storage.StartCompactor), as upstream.
	ec.AutoCompactionRetention = "0"

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("etcd: start with data dir %q: %w", cfg.DataDir, err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd: failed while starting: %w", err)
	case <-t.C:
		e.Close()
		return nil, fmt.Errorf("etcd: not ready after %v", timeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	s := &Server{etcd: e, closing: closing}
	klog.V(1).InfoS("Embedded etcd ready", "dataDir", cfg.DataDir, "endpoints", s.Endpoints())
	return s, nil
}

func parseURL(what, s, def string) (*url.URL, error) {
	if s == "" {
		s = def
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("etcd: invalid %s URL %q: want scheme://host:port", what, s)
	}
	return u, nil
}

// Endpoints are the client URLs actually listened on (port 0 resolved).
func (s *Server) Endpoints() []string {
	var out []string
	for _, l := range s.etcd.Clients {
		out = append(out, "http://"+l.Addr().String())
	}
	return out
}

// Err reports a fatal error of the running member (the channel is closed on Close).
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the member gracefully; it is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.etcd.Close()
	})
}

// newLogger logs errors as JSON on stderr, and nothing once closing is set: etcd
// reports its own listeners' shutdown as errors.
func newLogger(closing *atomic.Bool) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	cfg.OutputPaths = []string{"stderr"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	cfg.Sampling = nil
	lg, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("etcd: logger: %w", err)
	}
	return lg.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return quietCore{Core: c, closing: closing}
	})), nil
}

type quietCore struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c quietCore) With(f []zapcore.Field) zapcore.Core {
	return quietCore{Core: c.Core.With(f), closing: c.closing}
}

func (c quietCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() {
		return ce
	}
	return c.Core.Check(ent, ce)
}
