package storage

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorCode classifies a storage failure; the apiserver maps each to an API Status.
type ErrorCode int

const (
	// ErrCodeNotFound: the key does not exist (404 NotFound).
	ErrCodeNotFound ErrorCode = iota + 1
	// ErrCodeAlreadyExists: Create found the key (409 AlreadyExists).
	ErrCodeAlreadyExists
	// ErrCodeConflict: a resourceVersion or UID precondition failed (409 Conflict).
	ErrCodeConflict
	// ErrCodeGone: the resourceVersion or continue token is older than the history kept
	// (410 Gone / Expired); the client relists.
	ErrCodeGone
	// ErrCodeTimeout: etcd or the watch cache did not answer in time, or a requested
	// resourceVersion is newer than anything seen (504 Timeout).
	ErrCodeTimeout
	// ErrCodeUnreachable: etcd cannot be reached (503 ServiceUnavailable).
	ErrCodeUnreachable
	// ErrCodeTooManyRequests: a watcher could not keep up and was dropped, or the watch
	// cache is (re)initialising (429). Upstream clients back off and re-watch from their
	// last resourceVersion without a relist.
	ErrCodeTooManyRequests
	// ErrCodeBadRequest: a malformed continue token or resourceVersion (400 BadRequest).
	ErrCodeBadRequest
)

var codeText = map[ErrorCode]string{
	ErrCodeNotFound:        "key not found",
	ErrCodeAlreadyExists:   "key exists",
	ErrCodeConflict:        "compare failed",
	ErrCodeGone:            "resource version too old",
	ErrCodeTimeout:         "timeout",
	ErrCodeUnreachable:     "server unreachable",
	ErrCodeTooManyRequests: "too many requests",
	ErrCodeBadRequest:      "bad request",
}

func (c ErrorCode) String() string {
	if s, ok := codeText[c]; ok {
		return s
	}
	return fmt.Sprintf("code %d", int(c))
}

// Error is every classified failure of the storage layer and the watch cache.
type Error struct {
	Code            ErrorCode
	Key             string
	ResourceVersion int64
	// Message is the human explanation, ready for a Status message ("too old resource
	// version: 5 (10)"); empty for the plain NotFound / AlreadyExists cases.
	Message string
	// Err is the underlying cause, if any (an etcd client error).
	Err error
}

// Error returns Message when there is one, ready for an API Status ("too old resource
// version: 5 (10)"), else the code and key; the cause, if any, is appended.
func (e *Error) Error() string {
	s := e.Message
	if s == "" {
		s = e.Code.String()
		if e.Key != "" {
			s += ": " + e.Key
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// NewError builds an *Error.
func NewError(code ErrorCode, key string, rv int64, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Key: key, ResourceVersion: rv, Message: msg}
}

// Code returns the storage error code in err's chain, or 0.
func Code(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsNotFound reports an ErrCodeNotFound error.
func IsNotFound(err error) bool { return Code(err) == ErrCodeNotFound }

// IsAlreadyExists reports an ErrCodeAlreadyExists error.
func IsAlreadyExists(err error) bool { return Code(err) == ErrCodeAlreadyExists }

// IsConflict reports an ErrCodeConflict error.
func IsConflict(err error) bool { return Code(err) == ErrCodeConflict }

// IsGone reports an ErrCodeGone error.
func IsGone(err error) bool { return Code(err) == ErrCodeGone }

// IsTimeout reports an ErrCodeTimeout error.
func IsTimeout(err error) bool { return Code(err) == ErrCodeTimeout }

// IsUnreachable reports an ErrCodeUnreachable error.
func IsUnreachable(err error) bool { return Code(err) == ErrCodeUnreachable }

// IsTooManyRequests reports an ErrCodeTooManyRequests error.
func IsTooManyRequests(err error) bool { return Code(err) == ErrCodeTooManyRequests }

// IsBadRequest reports an ErrCodeBadRequest error.
func IsBadRequest(err error) bool { return Code(err) == ErrCodeBadRequest }

// InterpretEtcdError classifies an etcd client error; errors it does not recognise (and
// the caller's own context cancellation) pass through unchanged.
func InterpretEtcdError(err error, key string) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, rpctypes.ErrTimeout),
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail), errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost):
		return &Error{Code: ErrCodeTimeout, Key: key, Message: "request to etcd timed out", Err: err}
	case errors.Is(err, rpctypes.ErrCompacted):
		return &Error{Code: ErrCodeGone, Key: key, Message: "the requested revision has been compacted", Err: err}
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrLeaderChanged), errors.Is(err, rpctypes.ErrStopped):
		return &Error{Code: ErrCodeUnreachable, Key: key, Message: "etcd has no leader", Err: err}
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return &Error{Code: ErrCodeTimeout, Key: key, Message: "request to etcd timed out", Err: err}
	case codes.Unavailable:
		return &Error{Code: ErrCodeUnreachable, Key: key, Message: "etcd is unavailable", Err: err}
	case codes.Canceled:
		return err
	}
	return err
}
