package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/outage"
)

// unavailablePrefix is how apierrors.FromGRPC words a gRPC Unavailable status that
// carries no metav1.Status: the transport's own failure, never an answer of the server
// (whose 503s carry their Status and their own message).
const unavailablePrefix = "the server is currently unavailable: "

// LogRetryFailure logs a request that failed and will be retried. One that never reached
// the apiserver gets a V(2) line only: a client built with Config.ServerFlag already
// reports the outage (the address, the cause and the flag at the first failure, then at
// growing intervals, and once on recovery), where a retry loop's own error line every
// round would flood the log for as long as the outage lasts. The apiserver's own
// refusals (a validation error, a conflict, a 503 while its etcd is down) are logged
// every time.
func LogRetryFailure(err error, msg string, keysAndValues ...any) {
	if IsUnreachable(err) {
		klog.V(2).InfoS(msg, append(keysAndValues, "err", err)...)
		return
	}
	klog.ErrorS(err, msg, keysAndValues...)
}

// IsUnreachable reports whether err is a request that never reached the apiserver: a
// connection that could not be made or broke, as opposed to an answer of the server
// (even a 503). It accepts the errors of this package's methods and raw gRPC errors.
// A client built with Config.ServerFlag already logs these (see Config), so callers that
// retry can keep their own per-attempt lines for the other errors.
func IsUnreachable(err error) bool {
	_, ok := unreachableCause(err)
	return ok
}

// unreachableCause returns the short cause ("connection refused") of an unreachable
// error, see IsUnreachable.
func unreachableCause(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		msg := se.ErrStatus.GetMessage()
		if apierrors.IsServiceUnavailable(err) && strings.HasPrefix(msg, unavailablePrefix) {
			return outage.Cause(errors.New(strings.TrimPrefix(msg, unavailablePrefix))), true
		}
		return "", false
	}
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.Unavailable {
		return "", false
	}
	for _, d := range s.Proto().GetDetails() {
		if d.MessageIs(&metav1.Status{}) {
			return "", false // the server answered 503 itself
		}
	}
	return outage.Cause(errors.New(s.Message())), true
}

// newReporter builds the reporter of a client whose server came from flag.
func newReporter(server, flag string) *outage.Reporter {
	return &outage.Reporter{
		Message: func(cause string) string {
			return fmt.Sprintf("Cannot reach the apiserver at %s (%s); is kube-apiserver running? Check %s. Retrying.", server, cause, flag)
		},
		Recovered: fmt.Sprintf("Reached the apiserver at %s", server),
	}
}

// observe feeds the outcome of one call to the reporter: a call the server answered
// (successfully or not) ends an outage; a connection failure is one more failed attempt.
// A call that timed out while the connection was not up counts as a failure too: that
// is what a silent (firewalled, partitioned) address looks like.
func observe(r *outage.Reporter, cc *grpc.ClientConn, err error) {
	if err == nil {
		r.Success()
		return
	}
	if cause, ok := unreachableCause(err); ok {
		r.Failure(cause)
		return
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Canceled:
			return // the caller gave up; says nothing about the server
		case codes.DeadlineExceeded:
			if st := cc.GetState(); st != connectivity.Ready && len(s.Proto().GetDetails()) == 0 {
				r.Failure("no answer before the request's deadline")
				return
			}
		}
	}
	r.Success()
}

// reportingInterceptors observe every call of a client with a reporter. A stream counts
// when it is opened: opening needs a connection, and an error later in the stream (the
// apiserver going away mid-watch) is followed by a reopen that will count.
func reportingInterceptors(r *outage.Reporter) []grpc.DialOption {
	unary := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		observe(r, cc, err)
		return err
	}
	stream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		observe(r, cc, err)
		return s, err
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(unary), grpc.WithChainStreamInterceptor(stream)}
}
