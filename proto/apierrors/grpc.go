package apierrors

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	metav1 "kube5/proto/api/meta/v1"
)

// The gRPC bridge. Over gRPC an API error is a gRPC status whose code is derived from the
// HTTP code and whose message is the Status message, with the full metav1.Status attached
// as a detail; FromGRPC restores the exact *StatusError, so reason, code, details and
// causes survive the wire unchanged. The gRPC code exists so that generic gRPC tooling
// (grpcurl, interceptors, retries) sees a sensible class; kube5 code always goes by the
// attached Status.
//
// HTTP code -> gRPC code:
//
//	400 BadRequest, 422 Invalid, 406, 415  InvalidArgument
//	401                                    Unauthenticated
//	403                                    PermissionDenied
//	404                                    NotFound
//	405                                    Unimplemented
//	409 AlreadyExists                      AlreadyExists
//	409 Conflict (and other 409s)          Aborted — gRPC's code for a failed optimistic
//	                                       concurrency check, which a resourceVersion
//	                                       conflict is; the client should re-read and retry
//	410 Gone, Expired                      OutOfRange — what etcd itself returns for a
//	                                       compacted revision
//	413 RequestEntityTooLarge, 429         ResourceExhausted
//	500 (InternalError, ServerTimeout)     Internal
//	503                                    Unavailable
//	504 Timeout                            DeadlineExceeded
//	other 4xx: FailedPrecondition; other 5xx: Internal.

// GRPCCode returns the gRPC code a Status travels under.
func GRPCCode(st *metav1.Status) codes.Code {
	switch st.GetCode() {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusNotAcceptable, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed:
		return codes.Unimplemented
	case http.StatusConflict:
		if st.GetReason() == StatusReasonAlreadyExists {
			return codes.AlreadyExists
		}
		return codes.Aborted
	case http.StatusGone:
		return codes.OutOfRange
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusOK, http.StatusCreated:
		return codes.OK
	}
	if c := st.GetCode(); c >= 400 && c < 500 {
		return codes.FailedPrecondition
	}
	return codes.Internal
}

// ToGRPC converts any error into a gRPC status error carrying its metav1.Status (see
// StatusFor: a non-API error becomes an InternalError). nil stays nil; an error that is
// already a gRPC status error without a Status detail (from a nested gRPC call) is
// first converted with FromGRPC, so its class is kept.
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}
	if statusOf(err) == nil {
		if _, ok := status.FromError(err); ok {
			err = FromGRPC(err)
		}
	}
	st := StatusFor(err)
	gs := status.New(GRPCCode(st), st.GetMessage())
	withDetail, derr := gs.WithDetails(protoadapt.MessageV1Of(st))
	if derr != nil {
		// Cannot happen for a registered message; the code and message still get through.
		return gs.Err()
	}
	return withDetail.Err()
}

// FromGRPC converts an error returned by a gRPC call back into an API error:
//   - nil stays nil, and an error that already carries a Status is returned as is;
//   - a gRPC status with a metav1.Status detail becomes that exact *StatusError;
//   - a gRPC status without one (the transport's own errors: connection refused, message
//     too large, ...) becomes the closest *StatusError, keeping gRPC's message, which
//     names the problem (e.g. Unavailable -> ServiceUnavailable `the server is currently
//     unavailable: connection error: ... dial tcp 127.0.0.1:8080: connect: connection
//     refused`);
//   - Canceled and DeadlineExceeded without a detail are the caller's own context ending,
//     so they come back wrapping context.Canceled / context.DeadlineExceeded, and
//     errors.Is(err, context.Canceled) works as it does with client-go;
//   - any other error (not a gRPC status) is returned unchanged.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	if statusOf(err) != nil {
		return err
	}
	gs, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range gs.Proto().GetDetails() {
		st := &metav1.Status{}
		if d.MessageIs(st) && d.UnmarshalTo(st) == nil {
			return &StatusError{ErrStatus: st}
		}
	}
	msg := gs.Message()
	switch gs.Code() {
	case codes.OK:
		return nil
	case codes.Canceled:
		return fmt.Errorf("%w: %s", context.Canceled, msg)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", context.DeadlineExceeded, msg)
	case codes.Unavailable:
		return NewServiceUnavailable("the server is currently unavailable: " + msg)
	case codes.NotFound:
		return newStatus(http.StatusNotFound, StatusReasonNotFound, msg, nil)
	case codes.AlreadyExists:
		return newStatus(http.StatusConflict, StatusReasonAlreadyExists, msg, nil)
	case codes.Aborted:
		return newStatus(http.StatusConflict, StatusReasonConflict, msg, nil)
	case codes.InvalidArgument, codes.FailedPrecondition:
		return NewBadRequest(msg)
	case codes.OutOfRange:
		return NewResourceExpired(msg)
	case codes.ResourceExhausted:
		// Without a Status this is gRPC's own limit (received message larger than max),
		// not server throttling: do not invite a retry loop with TooManyRequests.
		return newStatus(http.StatusRequestEntityTooLarge, StatusReasonRequestEntityTooLarge, msg, nil)
	case codes.Unauthenticated:
		return NewUnauthorized(msg)
	case codes.PermissionDenied:
		return newStatus(http.StatusForbidden, StatusReasonForbidden, msg, nil)
	case codes.Unimplemented:
		return newStatus(http.StatusMethodNotAllowed, StatusReasonMethodNotAllowed, msg, nil)
	default: // Unknown, Internal, DataLoss
		return NewInternalError(errors.New(msg))
	}
}
