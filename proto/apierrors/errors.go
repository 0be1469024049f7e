// Package apierrors builds and inspects the API's errors as upstream's
// k8s.io/apimachinery/pkg/api/errors does: every failure the apiserver reports is a
// metav1.Status (reason, code, message, details), carried by a *StatusError in Go, written
// as the Status JSON body over REST, and as a gRPC status with the Status attached as a
// detail over gRPC (see grpc.go). Messages are upstream's word for word, so kubectl output
// matches Kubernetes.
package apierrors

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

// Status values of metav1.Status.Status.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"
)

// Reasons of metav1.Status.Reason, as upstream's metav1.StatusReason constants.
const (
	StatusReasonUnknown               = ""
	StatusReasonUnauthorized          = "Unauthorized"
	StatusReasonForbidden             = "Forbidden"
	StatusReasonNotFound              = "NotFound"
	StatusReasonAlreadyExists         = "AlreadyExists"
	StatusReasonConflict              = "Conflict"
	StatusReasonGone                  = "Gone"
	StatusReasonInvalid               = "Invalid"
	StatusReasonServerTimeout         = "ServerTimeout"
	StatusReasonTimeout               = "Timeout"
	StatusReasonTooManyRequests       = "TooManyRequests"
	StatusReasonBadRequest            = "BadRequest"
	StatusReasonMethodNotAllowed      = "MethodNotAllowed"
	StatusReasonNotAcceptable         = "NotAcceptable"
	StatusReasonRequestEntityTooLarge = "RequestEntityTooLarge"
	StatusReasonUnsupportedMediaType  = "UnsupportedMediaType"
	StatusReasonInternalError         = "InternalError"
	StatusReasonExpired               = "Expired"
	StatusReasonServiceUnavailable    = "ServiceUnavailable"
)

// GroupResource names a resource in messages: "pods", "deployments.apps".
type GroupResource struct {
	Group    string
	Resource string
}

// String is "pods" for the core group and "deployments.apps" otherwise.
func (gr GroupResource) String() string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}

// Empty reports whether both parts are empty.
func (gr GroupResource) Empty() bool { return gr.Group == "" && gr.Resource == "" }

// GroupKind names a kind in messages: "Pod", "Deployment.apps".
type GroupKind struct {
	Group string
	Kind  string
}

// String is "Pod" for the core group and "Deployment.apps" otherwise.
func (gk GroupKind) String() string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// StatusError is an error intended for consumption by a REST API server; it can also be
// reconstructed by clients from a REST or gRPC response.
type StatusError struct {
	ErrStatus *metav1.Status
}

// APIStatus is exposed by errors that can be converted to a metav1.Status.
type APIStatus interface {
	Status() *metav1.Status
}

var _ error = &StatusError{}

// Error implements the Error interface: the status message.
func (e *StatusError) Error() string {
	if e == nil || e.ErrStatus == nil {
		return "<nil status>"
	}
	return e.ErrStatus.GetMessage()
}

// Status allows access to e's status without having to know the detailed workings of
// StatusError. Callers must not modify the result.
func (e *StatusError) Status() *metav1.Status {
	return e.ErrStatus
}

// newStatus fills the fields every failure shares, so each constructor names only what
// differs. Kind and APIVersion are set because the Status travels on its own.
func newStatus(code int32, reason, message string, details *metav1.StatusDetails) *StatusError {
	return &StatusError{ErrStatus: &metav1.Status{
		Kind:       "Status",
		ApiVersion: "v1",
		Status:     StatusFailure,
		Code:       code,
		Reason:     reason,
		Message:    message,
		Details:    details,
	}}
}

// FromStatus wraps a received Status (REST body or gRPC detail) into an error.
func FromStatus(st *metav1.Status) *StatusError {
	return &StatusError{ErrStatus: st}
}

// NewNotFound returns a new error which indicates that the resource of the kind and the
// name was not found: `pods "x" not found`.
func NewNotFound(qualifiedResource GroupResource, name string) *StatusError {
	return newStatus(http.StatusNotFound, StatusReasonNotFound,
		fmt.Sprintf("%s %q not found", qualifiedResource.String(), name),
		&metav1.StatusDetails{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource, Name: name})
}

// NewAlreadyExists returns an error indicating the item requested exists by that
// identifier: `pods "x" already exists`.
func NewAlreadyExists(qualifiedResource GroupResource, name string) *StatusError {
	return newStatus(http.StatusConflict, StatusReasonAlreadyExists,
		fmt.Sprintf("%s %q already exists", qualifiedResource.String(), name),
		&metav1.StatusDetails{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource, Name: name})
}

// NewUnauthorized returns an error indicating the client is not authorized to perform
// the requested action.
func NewUnauthorized(reason string) *StatusError {
	message := reason
	if len(message) == 0 {
		message = "not authorized"
	}
	return newStatus(http.StatusUnauthorized, StatusReasonUnauthorized, message, nil)
}

// NewForbidden returns an error indicating the requested action was forbidden.
func NewForbidden(qualifiedResource GroupResource, name string, err error) *StatusError {
	var message string
	switch {
	case qualifiedResource.Empty():
		message = fmt.Sprintf("forbidden: %v", err)
	case name == "":
		message = fmt.Sprintf("%s is forbidden: %v", qualifiedResource.String(), err)
	default:
		message = fmt.Sprintf("%s %q is forbidden: %v", qualifiedResource.String(), name, err)
	}
	return newStatus(http.StatusForbidden, StatusReasonForbidden, message,
		&metav1.StatusDetails{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource, Name: name})
}

// NewConflict returns an error indicating the item can't be updated as provided:
// `Operation cannot be fulfilled on pods "x": <err>`.
func NewConflict(qualifiedResource GroupResource, name string, err error) *StatusError {
	return newStatus(http.StatusConflict, StatusReasonConflict,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: %v", qualifiedResource.String(), name, err),
		&metav1.StatusDetails{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource, Name: name})
}

// NewGone returns an error indicating the item no longer available at the server and no
// forwarding address is known. Deprecated upstream in favour of NewResourceExpired for
// watch windows, but still sent by some paths.
func NewGone(message string) *StatusError {
	return newStatus(http.StatusGone, StatusReasonGone, message, nil)
}

// NewResourceExpired creates an error that indicates that the requested resource content
// has expired from the server (usually due to a resourceVersion that is too old).
func NewResourceExpired(message string) *StatusError {
	return newStatus(http.StatusGone, StatusReasonExpired, message, nil)
}

// NewInvalid returns an error indicating the item is invalid and cannot be processed:
// `Pod "x" is invalid: <errs>`, with one StatusCause per field error.
func NewInvalid(qualifiedKind GroupKind, name string, errs field.ErrorList) *StatusError {
	causes := make([]*metav1.StatusCause, 0, len(errs))
	for _, e := range errs {
		causes = append(causes, &metav1.StatusCause{
			Reason:  string(e.Type),
			Message: e.ErrorBody(),
			Field:   e.Field,
		})
	}
	message := fmt.Sprintf("%s %q is invalid", qualifiedKind.String(), name)
	if agg := errs.ToAggregate(); agg != nil {
		message = fmt.Sprintf("%s %q is invalid: %v", qualifiedKind.String(), name, agg)
	}
	return newStatus(http.StatusUnprocessableEntity, StatusReasonInvalid, message,
		&metav1.StatusDetails{Group: qualifiedKind.Group, Kind: qualifiedKind.Kind, Name: name, Causes: causes})
}

// NewBadRequest creates an error that indicates that the request is invalid and can not
// be processed.
func NewBadRequest(reason string) *StatusError {
	return newStatus(http.StatusBadRequest, StatusReasonBadRequest, reason, nil)
}

// NewTooManyRequests creates an error that indicates that the client must try again
// later because the specified endpoint is not accepting requests. More specific details
// should be provided if client should know why the failure was limited.
func NewTooManyRequests(message string, retryAfterSeconds int) *StatusError {
	return newStatus(http.StatusTooManyRequests, StatusReasonTooManyRequests, message,
		&metav1.StatusDetails{RetryAfterSeconds: int32(retryAfterSeconds)})
}

// NewServiceUnavailable creates an error that indicates that the requested service is
// unavailable.
func NewServiceUnavailable(reason string) *StatusError {
	return newStatus(http.StatusServiceUnavailable, StatusReasonServiceUnavailable, reason, nil)
}

// NewMethodNotSupported returns an error indicating the requested action is not supported
// on this kind: `create is not supported on resources of kind "componentstatuses"`.
func NewMethodNotSupported(qualifiedResource GroupResource, action string) *StatusError {
	return newStatus(http.StatusMethodNotAllowed, StatusReasonMethodNotAllowed,
		fmt.Sprintf("%s is not supported on resources of kind %q", action, qualifiedResource.String()),
		&metav1.StatusDetails{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource})
}

// NewServerTimeout returns an error indicating the requested action could not be
// completed due to a transient error, and the client should try again.
func NewServerTimeout(qualifiedResource GroupResource, operation string, retryAfterSeconds int) *StatusError {
	return newStatus(http.StatusInternalServerError, StatusReasonServerTimeout,
		fmt.Sprintf("The %s operation against %s could not be completed at this time, please try again.", operation, qualifiedResource.String()),
		&metav1.StatusDetails{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource, Name: operation,
			RetryAfterSeconds: int32(retryAfterSeconds)})
}

// NewInternalError returns an error indicating the item is invalid and cannot be
// processed: "Internal error occurred: <err>".
func NewInternalError(err error) *StatusError {
	return newStatus(http.StatusInternalServerError, StatusReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err),
		&metav1.StatusDetails{Causes: []*metav1.StatusCause{{Message: err.Error()}}})
}

// NewTimeoutError returns an error indicating that a timeout occurred before the request
// could be completed. Clients may retry, but the operation may still complete.
func NewTimeoutError(message string, retryAfterSeconds int) *StatusError {
	return newStatus(http.StatusGatewayTimeout, StatusReasonTimeout,
		fmt.Sprintf("Timeout: %s", message),
		&metav1.StatusDetails{RetryAfterSeconds: int32(retryAfterSeconds)})
}

// NewTooManyRequestsError returns an error indicating that the request was rejected
// because the server has received too many requests. Client should wait and retry.
func NewTooManyRequestsError(message string) *StatusError {
	return newStatus(http.StatusTooManyRequests, StatusReasonTooManyRequests,
		fmt.Sprintf("Too many requests: %s", message), nil)
}

// NewRequestEntityTooLargeError returns an error indicating that the request entity was
// too large.
func NewRequestEntityTooLargeError(message string) *StatusError {
	return newStatus(http.StatusRequestEntityTooLarge, StatusReasonRequestEntityTooLarge,
		fmt.Sprintf("Request entity too large: %s", message), nil)
}

// NewNotAcceptable returns an error for an Accept header the server cannot satisfy, with
// the message upstream's content negotiation writes.
func NewNotAcceptable(accepted []string) *StatusError {
	return newStatus(http.StatusNotAcceptable, StatusReasonNotAcceptable,
		fmt.Sprintf("only the following media types are accepted: %v", joinComma(accepted)), nil)
}

// NewUnsupportedMediaType returns an error for a request body in a format the server does
// not read, with the message upstream's content negotiation writes.
func NewUnsupportedMediaType(accepted []string) *StatusError {
	return newStatus(http.StatusUnsupportedMediaType, StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %v", joinComma(accepted)), nil)
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// StatusFor returns the Status to send for any error: a StatusError's own status (found
// through wrapping), a Timeout for a context deadline, and otherwise an InternalError
// wrapping the message, so unexpected errors still reach clients as upstream's 500.
// A nil error yields a Success status.
func StatusFor(err error) *metav1.Status {
	if err == nil {
		return &metav1.Status{Kind: "Status", ApiVersion: "v1", Status: StatusSuccess, Code: http.StatusOK}
	}
	var s APIStatus
	if errors.As(err, &s) && s.Status() != nil {
		return s.Status()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return NewTimeoutError(err.Error(), 0).ErrStatus
	}
	return NewInternalError(err).ErrStatus
}

// statusOf finds the Status inside err, or nil.
func statusOf(err error) *metav1.Status {
	var s APIStatus
	if err != nil && errors.As(err, &s) {
		return s.Status()
	}
	return nil
}

// ReasonForError returns the reason of a particular error, or "" (StatusReasonUnknown).
func ReasonForError(err error) string {
	return statusOf(err).GetReason()
}

// CodeForError returns the HTTP code of err, or 0 if it carries no status.
func CodeForError(err error) int32 {
	return statusOf(err).GetCode()
}

// reasonAndCode matches as upstream does: by reason, or by code when the reason is
// unknown (a status from a server that only set the code).
func reasonAndCode(err error, reason string, code int32) bool {
	st := statusOf(err)
	if st == nil {
		return false
	}
	if st.GetReason() != StatusReasonUnknown {
		return st.GetReason() == reason
	}
	return code != 0 && st.GetCode() == code
}

// IsNotFound returns true if the specified error was created by NewNotFound.
func IsNotFound(err error) bool { return reasonAndCode(err, StatusReasonNotFound, http.StatusNotFound) }

// IsAlreadyExists determines if the err is an error which indicates that a specified
// resource already exists.
func IsAlreadyExists(err error) bool { return reasonAndCode(err, StatusReasonAlreadyExists, 0) }

// IsConflict determines if the err is an error which indicates the provided update
// conflicts.
func IsConflict(err error) bool { return reasonAndCode(err, StatusReasonConflict, http.StatusConflict) }

// IsInvalid determines if the err is an error which indicates the provided resource is
// not valid.
func IsInvalid(err error) bool {
	return reasonAndCode(err, StatusReasonInvalid, http.StatusUnprocessableEntity)
}

// IsGone is true if the error indicates the requested resource is no longer available.
func IsGone(err error) bool { return reasonAndCode(err, StatusReasonGone, http.StatusGone) }

// IsResourceExpired is true if the error indicates the resource has expired and the
// current action is no longer possible.
func IsResourceExpired(err error) bool { return reasonAndCode(err, StatusReasonExpired, 0) }

// IsGoneOrExpired is what a watcher checks to decide it must relist: both 410 reasons.
func IsGoneOrExpired(err error) bool { return IsGone(err) || IsResourceExpired(err) }

// IsBadRequest determines if err is an error which indicates that the request is invalid.
func IsBadRequest(err error) bool {
	return reasonAndCode(err, StatusReasonBadRequest, http.StatusBadRequest)
}

// IsUnauthorized determines if err is an error which indicates that the request is
// unauthorized and requires authentication by the user.
func IsUnauthorized(err error) bool {
	return reasonAndCode(err, StatusReasonUnauthorized, http.StatusUnauthorized)
}

// IsForbidden determines if err is an error which indicates that the request is
// forbidden and cannot be completed as requested.
func IsForbidden(err error) bool {
	return reasonAndCode(err, StatusReasonForbidden, http.StatusForbidden)
}

// IsMethodNotSupported determines if the err is an error which indicates the provided
// action could not be performed because it is not supported by the server.
func IsMethodNotSupported(err error) bool {
	return reasonAndCode(err, StatusReasonMethodNotAllowed, http.StatusMethodNotAllowed)
}

// IsTimeout determines if err is an error which indicates that request times out due to
// long processing.
func IsTimeout(err error) bool {
	return reasonAndCode(err, StatusReasonTimeout, http.StatusGatewayTimeout)
}

// IsServerTimeout determines if err is an error which indicates that the request needs
// to be retried by the client.
func IsServerTimeout(err error) bool { return reasonAndCode(err, StatusReasonServerTimeout, 0) }

// IsInternalError determines if err is an error which indicates an internal server error.
func IsInternalError(err error) bool {
	return reasonAndCode(err, StatusReasonInternalError, http.StatusInternalServerError)
}

// IsServiceUnavailable is true if the error indicates the underlying service is no longer
// available.
func IsServiceUnavailable(err error) bool {
	return reasonAndCode(err, StatusReasonServiceUnavailable, http.StatusServiceUnavailable)
}

// IsTooManyRequests determines if err is an error which indicates that there are too
// many requests that the server cannot handle. The code alone suffices, as upstream.
func IsTooManyRequests(err error) bool {
	if ReasonForError(err) == StatusReasonTooManyRequests {
		return true
	}
	return CodeForError(err) == http.StatusTooManyRequests
}

// IsRequestEntityTooLargeError determines if err is an error which indicates the request
// entity is too large.
func IsRequestEntityTooLargeError(err error) bool {
	if ReasonForError(err) == StatusReasonRequestEntityTooLarge {
		return true
	}
	return CodeForError(err) == http.StatusRequestEntityTooLarge
}

// SuggestsClientDelay returns true if this error suggests a client delay as well as the
// suggested seconds to wait, or false if the error does not imply a wait.
func SuggestsClientDelay(err error) (int, bool) {
	st := statusOf(err)
	if st == nil || st.GetDetails() == nil {
		return 0, false
	}
	switch st.GetReason() {
	case StatusReasonServerTimeout, StatusReasonTimeout, StatusReasonTooManyRequests:
		return int(st.GetDetails().GetRetryAfterSeconds()), true
	}
	if st.GetDetails().GetRetryAfterSeconds() > 0 {
		return int(st.GetDetails().GetRetryAfterSeconds()), true
	}
	return 0, false
}

// HasStatusCause returns true if the provided error has a details cause with the
// provided reason (a field.ErrorType value such as "FieldValueRequired").
func HasStatusCause(err error, reason string) bool {
	for _, c := range statusOf(err).GetDetails().GetCauses() {
		if c.GetReason() == reason {
			return true
		}
	}
	return false
}
