// Package client is the typed client every kube5 binary uses to talk to kube-apiserver.
// It speaks the one generic gRPC service (kube5.rpc.v1.Resources) on the apiserver's
// single port, and decodes the proto bytes the server sends into the Go type of each
// resource, so `client.For[*corev1.Pod](c, "default").Get(ctx, "web-1")` returns a
// *corev1.Pod. Every error passes through apierrors.FromGRPC, so callers test errors with
// apierrors.IsNotFound, IsConflict, ... exactly as with client-go.
package client

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	rpcv1 "kube5/proto/api/rpc/v1"
)

// DefaultServer is the apiserver's upstream default insecure address.
const DefaultServer = "127.0.0.1:8080"

// MaxMessageSize bounds one gRPC message either way. Lists travel as one message, so this
// is the largest list a client can read: generous, since a list of thousands of pods is
// tens of MiB and failing a relist is worse than the memory.
const MaxMessageSize = 256 << 20

// Keepalive: a connection that has been silent this long is pinged, and dropped when the
// ping is not answered in KeepaliveTimeout, so a watch on a dead or partitioned apiserver
// ends (and informers reconnect) instead of hanging on a half-open TCP connection. The
// apiserver must permit pings this often (keepalive.EnforcementPolicy{MinTime <= 30s,
// PermitWithoutStream: true}); gRPC's default policy (5 minutes) would answer with
// GOAWAY too_many_pings.
const (
	KeepaliveTime    = 30 * time.Second
	KeepaliveTimeout = 10 * time.Second
)

// Config says how to reach the apiserver.
type Config struct {
	// Server is "http://127.0.0.1:8080", "127.0.0.1:8080" or "localhost" (port 8080 is
	// implied); empty means DefaultServer. Only plain (insecure) connections are supported.
	Server string
	// UserAgent is sent with every request ("kube-scheduler/v1.0.0").
	UserAgent string
	// Timeout bounds each unary call (Get, List, Create, ...); watches are not bounded.
	// Zero means no timeout beyond the caller's context.
	Timeout time.Duration
	// DialOptions are appended to the client's own options (tests shorten the reconnect
	// backoff with grpc.WithConnectParams, for example).
	DialOptions []grpc.DialOption
	// ServerFlag names where Server came from, for a user to check: "--master",
	// "--kubeconfig /etc/kube5/kubelet.conf". When set, the client logs that it cannot
	// reach the apiserver, naming Server and this flag, at the first failed request and
	// then at a bounded rate while the failures go on, and once when it is back (package
	// outage). Daemons set it (daemon.MasterFlags does), since their retries are otherwise
	// silent; kubectl, which reports its own errors, does not.
	ServerFlag string
}

// ReconnectMaxDelay caps the wait between two connection attempts to an apiserver that
// is down. gRPC's default (2 minutes) would keep a daemon away from an apiserver that
// came up long after it; a refused connection to a down apiserver costs next to nothing.
const ReconnectMaxDelay = 10 * time.Second

// Clientset is a connection to one apiserver. It is safe for concurrent use, and one is
// meant to be shared by everything in a process.
type Clientset struct {
	conn    *grpc.ClientConn // nil when built with NewForRPC
	rpc     rpcv1.ResourcesClient
	target  string
	timeout time.Duration
}

// New creates a client. It does not connect: the first request does, and the connection
// is re-established in the background whenever it breaks, so New succeeds while the
// apiserver is down and requests fail with a ServiceUnavailable error until it is up.
func New(cfg Config) (*Clientset, error) {
	target, err := ParseServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                KeepaliveTime,
			Timeout:             KeepaliveTimeout,
			PermitWithoutStream: true,
		}),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageSize),
			grpc.MaxCallSendMsgSize(MaxMessageSize),
		),
		// Many watch streams share one connection (an informer factory, a hollow-node
		// process): with gRPC's 64 KiB starting windows a burst of events stalls every
		// stream until the window grows, and the apiserver cuts watchers that fall
		// behind. Windows are credit, not buffers: large ones cost nothing while idle.
		grpc.WithInitialWindowSize(4 << 20),
		grpc.WithInitialConnWindowSize(64 << 20),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: ReconnectMaxDelay},
			MinConnectTimeout: 20 * time.Second,
		}),
	}
	if cfg.UserAgent != "" {
		opts = append(opts, grpc.WithUserAgent(cfg.UserAgent))
	}
	if cfg.ServerFlag != "" {
		server := cfg.Server
		if server == "" {
			server = target
		}
		opts = append(opts, reportingInterceptors(newReporter(server, cfg.ServerFlag))...)
	}
	opts = append(opts, cfg.DialOptions...)
	// passthrough: the address is dialled as given (no DNS resolver round, so "localhost"
	// behaves as with net.Dial, and the error names the address the user gave).
	conn, err := grpc.NewClient("passthrough:///"+target, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", target, err)
	}
	return &Clientset{conn: conn, rpc: rpcv1.NewResourcesClient(conn), target: target, timeout: cfg.Timeout}, nil
}

// NewForRPC wraps an existing ResourcesClient (an in-process connection, a test double).
// Close does nothing for such a client.
func NewForRPC(rpc rpcv1.ResourcesClient, timeout time.Duration) *Clientset {
	return &Clientset{rpc: rpc, target: "in-process", timeout: timeout}
}

// Close releases the connection; in-flight requests and watches fail.
func (c *Clientset) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Server returns the host:port the client talks to.
func (c *Clientset) Server() string { return c.target }

// RPC returns the raw gRPC client, for callers that handle bytes themselves.
func (c *Clientset) RPC() rpcv1.ResourcesClient { return c.rpc }

// ParseServer turns the forms users write for --master / --server / a kubeconfig's
// cluster.server into host:port: a URL ("http://h:8080", path ignored), "h:port", or a
// bare host with the default port 8080.
func ParseServer(server string) (string, error) {
	server = strings.TrimSpace(server)
	if server == "" {
		return DefaultServer, nil
	}
	hostport := server
	if strings.Contains(server, "://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("invalid server address %q: %w", server, err)
		}
		if u.Scheme != "http" && u.Scheme != "grpc" {
			return "", fmt.Errorf("invalid server address %q: only http:// (insecure) servers are supported", server)
		}
		hostport = u.Host
	}
	if hostport == "" {
		return "", fmt.Errorf("invalid server address %q: no host", server)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		// No port (or a bare IPv6 address): add the default one.
		host := strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
		hostport = net.JoinHostPort(host, "8080")
	}
	return hostport, nil
}
