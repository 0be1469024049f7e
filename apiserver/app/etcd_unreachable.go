package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"kube5/proto/outage"
)

// etcdPingKey is read to see whether etcd answers (it need not exist).
const etcdPingKey = "/registry/health-check"

// etcdPingTimeout bounds one ping. The etcd client waits for a connection until its
// context ends, so this is also how soon an unreachable etcd is first reported.
const etcdPingTimeout = 2 * time.Second

// etcdMonitorInterval is how often a running apiserver checks that its --etcd-servers
// still answer, so that an etcd going away is in the log, not only in /readyz.
const etcdMonitorInterval = 5 * time.Second

// etcdReconnect caps the wait between two connection attempts to an etcd that is down
// at 5s: with gRPC's default (2 minutes) an apiserver started well before its etcd would
// go on waiting long after etcd came up. A refused connection costs next to nothing.
var etcdReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
	MinConnectTimeout: 20 * time.Second,
})

// newEtcdReporter reports an etcd that cannot be reached, naming what to check.
func newEtcdReporter(endpoints []string, embedded bool) *outage.Reporter {
	at := strings.Join(endpoints, ",")
	hint := "is etcd running? Check --etcd-servers, or omit it to run an embedded etcd"
	if embedded {
		hint = "the embedded etcd (--data-dir, --embedded-etcd-listen-client-url) does not answer"
	}
	return &outage.Reporter{
		Message: func(cause string) string {
			return fmt.Sprintf("Cannot reach etcd at %s (%s); %s. Retrying.", at, cause, hint)
		},
		Recovered: "Reached etcd at " + at,
	}
}

// waitForEtcd pings etcd until it answers, reporting each failure to r (which logs at a
// bounded rate); it fails only when ctx ends first. As upstream, the apiserver waits for
// etcd rather than exiting: etcd may well be starting beside it.
// onFailure, when set, is told each cause too.
func waitForEtcd(ctx context.Context, cli *clientv3.Client, endpoints []string, r *outage.Reporter, onFailure func(cause string)) error {
	delay := 250 * time.Millisecond
	for {
		err := pingEtcd(ctx, cli)
		if err == nil {
			r.Success()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stopped while waiting for etcd at %s (--etcd-servers): %w", strings.Join(endpoints, ","), ctx.Err())
		}
		cause := etcdCause(ctx, endpoints, err)
		r.Failure(cause)
		if onFailure != nil {
			onFailure(cause)
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// monitorEtcd pings etcd every etcdMonitorInterval until ctx ends, reporting to r.
func monitorEtcd(ctx context.Context, cli *clientv3.Client, endpoints []string, r *outage.Reporter) {
	t := time.NewTicker(etcdMonitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := pingEtcd(ctx, cli)
		switch {
		case ctx.Err() != nil:
			return // shutting down: the ping failed for that reason
		case err != nil:
			r.Failure(etcdCause(ctx, endpoints, err))
		default:
			r.Success()
		}
	}
}

func pingEtcd(ctx context.Context, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, etcdPingTimeout)
	defer cancel()
	_, err := cli.Get(ctx, etcdPingKey)
	return err
}

// etcdCause explains a failed ping. The etcd client waits for a connection until the
// deadline and then says only "context deadline exceeded"; the reason a user can act on
// (connection refused, no such host, ...) comes from dialing the endpoints directly, as
// the client would. An endpoint that accepts the connection but did not answer in time
// is an etcd that is slow, has no leader, or is not etcd.
func etcdCause(ctx context.Context, endpoints []string, err error) string {
	if !errors.Is(err, context.DeadlineExceeded) {
		return outage.Cause(err)
	}
	var first error
	for _, ep := range endpoints {
		hostport, ok := endpointHostPort(ep)
		if !ok {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, derr := (&net.Dialer{}).DialContext(dctx, "tcp", hostport)
		cancel()
		if derr == nil {
			conn.Close()
			return fmt.Sprintf("%s accepts connections but gave no answer within %s", ep, etcdPingTimeout)
		}
		if first == nil {
			first = derr
		}
	}
	if first == nil {
		return fmt.Sprintf("no answer within %s", etcdPingTimeout)
	}
	return outage.Cause(first)
}

// endpointHostPort turns an etcd endpoint ("http://127.0.0.1:2379", "127.0.0.1:2379")
// into host:port; false for what cannot be dialed over TCP (unix sockets).
func endpointHostPort(ep string) (string, bool) {
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return "", false
		}
		ep = u.Host
	}
	if _, _, err := net.SplitHostPort(ep); err != nil {
		return "", false
	}
	return ep, true
}
