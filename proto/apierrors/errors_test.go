package apierrors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"kube5/proto/apierrors/field"
)

var pods = GroupResource{Resource: "pods"}

func TestMessages(t *testing.T) {
	cases := []struct {
		err    *StatusError
		msg    string
		code   int32
		reason string
		is     func(error) bool
	}{
		{NewNotFound(pods, "x"), `pods "x" not found`, 404, "NotFound", IsNotFound},
		{NewNotFound(GroupResource{"apps", "deployments"}, "web"), `deployments.apps "web" not found`, 404, "NotFound", IsNotFound},
		{NewAlreadyExists(pods, "x"), `pods "x" already exists`, 409, "AlreadyExists", IsAlreadyExists},
		{NewConflict(pods, "x", errors.New("the object has been modified; please apply your changes to the latest version and try again")),
			`Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again`,
			409, "Conflict", IsConflict},
		{NewBadRequest("bad"), "bad", 400, "BadRequest", IsBadRequest},
		{NewGone("too old resource version: 1 (5)"), "too old resource version: 1 (5)", 410, "Gone", IsGone},
		{NewResourceExpired("too old"), "too old", 410, "Expired", IsResourceExpired},
		{NewTooManyRequests("slow down", 3), "slow down", 429, "TooManyRequests", IsTooManyRequests},
		{NewInternalError(errors.New("boom")), "Internal error occurred: boom", 500, "InternalError", IsInternalError},
		{NewServiceUnavailable("down"), "down", 503, "ServiceUnavailable", IsServiceUnavailable},
		{NewTimeoutError("slow", 2), "Timeout: slow", 504, "Timeout", IsTimeout},
		{NewMethodNotSupported(pods, "patch"), `patch is not supported on resources of kind "pods"`, 405, "MethodNotAllowed", IsMethodNotSupported},
		{NewRequestEntityTooLargeError("limit is 3145728"), "Request entity too large: limit is 3145728", 413, "RequestEntityTooLarge", IsRequestEntityTooLargeError},
		{NewForbidden(pods, "x", errors.New("no")), `pods "x" is forbidden: no`, 403, "Forbidden", IsForbidden},
		{NewUnauthorized(""), "not authorized", 401, "Unauthorized", IsUnauthorized},
	}
	for _, c := range cases {
		st := c.err.Status()
		if c.err.Error() != c.msg || st.Code != c.code || st.Reason != c.reason || st.Status != "Failure" ||
			st.Kind != "Status" || st.ApiVersion != "v1" {
			t.Errorf("%s: got %q %d %q %q", c.reason, c.err.Error(), st.Code, st.Reason, st.Status)
		}
		if !c.is(c.err) || !c.is(fmt.Errorf("wrapped: %w", c.err)) {
			t.Errorf("%s: predicate false", c.reason)
		}
		if ReasonForError(c.err) != c.reason {
			t.Errorf("ReasonForError %q", ReasonForError(c.err))
		}
	}
	if IsNotFound(NewAlreadyExists(pods, "x")) || IsNotFound(errors.New("x")) || IsNotFound(nil) {
		t.Error("IsNotFound too broad")
	}
	if d, ok := SuggestsClientDelay(NewTooManyRequests("x", 3)); !ok || d != 3 {
		t.Errorf("delay %d %v", d, ok)
	}
}

func TestInvalid(t *testing.T) {
	errs := field.ErrorList{
		field.Required(field.NewPath("spec", "containers").Index(0).Child("image"), ""),
		field.Invalid(field.NewPath("metadata", "name"), "Foo", "must be lowercase"),
	}
	err := NewInvalid(GroupKind{Kind: "Pod"}, "x", errs)
	want := `Pod "x" is invalid: [spec.containers[0].image: Required value, metadata.name: Invalid value: "Foo": must be lowercase]`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err.Error(), want)
	}
	st := err.Status()
	if st.Code != 422 || st.Reason != "Invalid" || st.Details.Kind != "Pod" || st.Details.Name != "x" || len(st.Details.Causes) != 2 {
		t.Fatalf("status %v", st)
	}
	c := st.Details.Causes[0]
	if c.Reason != "FieldValueRequired" || c.Field != "spec.containers[0].image" || c.Message != "Required value" {
		t.Errorf("cause %v", c)
	}
	if !HasStatusCause(err, "FieldValueInvalid") || !IsInvalid(err) {
		t.Error("cause / IsInvalid")
	}
	one := NewInvalid(GroupKind{"apps", "Deployment"}, "d", errs[:1])
	if one.Error() != `Deployment.apps "d" is invalid: spec.containers[0].image: Required value` {
		t.Errorf("one: %s", one.Error())
	}
}

func TestStatusFor(t *testing.T) {
	if s := StatusFor(NewNotFound(pods, "a")); s.Code != 404 {
		t.Error(s)
	}
	if s := StatusFor(errors.New("disk on fire")); s.Code != 500 || s.Message != "Internal error occurred: disk on fire" {
		t.Error(s)
	}
	if s := StatusFor(nil); s.Status != "Success" || s.Code != 200 {
		t.Error(s)
	}
	if s := StatusFor(context.DeadlineExceeded); s.Reason != "Timeout" {
		t.Error(s)
	}
}

func TestGRPCRoundTrip(t *testing.T) {
	all := []*StatusError{
		NewNotFound(pods, "x"), NewAlreadyExists(pods, "x"), NewConflict(pods, "x", errors.New("c")),
		NewInvalid(GroupKind{Kind: "Pod"}, "x", field.ErrorList{field.Required(field.NewPath("a"), "")}),
		NewBadRequest("b"), NewGone("g"), NewResourceExpired("e"), NewTooManyRequests("t", 1),
		NewInternalError(errors.New("i")), NewServiceUnavailable("u"), NewTimeoutError("t", 1),
		NewMethodNotSupported(pods, "v"), NewRequestEntityTooLargeError("l"),
	}
	wantCode := []codes.Code{codes.NotFound, codes.AlreadyExists, codes.Aborted, codes.InvalidArgument,
		codes.InvalidArgument, codes.OutOfRange, codes.OutOfRange, codes.ResourceExhausted, codes.Internal,
		codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented, codes.ResourceExhausted}
	for i, e := range all {
		g := ToGRPC(e)
		gs, _ := status.FromError(g)
		if gs.Code() != wantCode[i] || gs.Message() != e.Error() {
			t.Errorf("%s: code %v msg %q", e.ErrStatus.Reason, gs.Code(), gs.Message())
		}
		// Through the wire format, as a client sees it.
		wire := status.FromProto(gs.Proto()).Err()
		back := FromGRPC(wire)
		var se *StatusError
		if !errors.As(back, &se) || !proto.Equal(se.ErrStatus, e.ErrStatus) {
			t.Errorf("%s: round trip got %v", e.ErrStatus.Reason, back)
		}
	}
	// A plain error becomes InternalError.
	if back := FromGRPC(ToGRPC(errors.New("x"))); !IsInternalError(back) {
		t.Errorf("plain: %v", back)
	}
	if ToGRPC(nil) != nil || FromGRPC(nil) != nil {
		t.Error("nil")
	}
}

func TestFromPlainGRPC(t *testing.T) {
	dead := status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:8080: connect: connection refused"`)
	err := FromGRPC(dead)
	if !IsServiceUnavailable(err) || err.Error() != `the server is currently unavailable: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:8080: connect: connection refused"` {
		t.Errorf("unavailable: %v", err)
	}
	if err := FromGRPC(status.Error(codes.Canceled, "context canceled")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if err := FromGRPC(status.Error(codes.DeadlineExceeded, "context deadline exceeded")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	if err := FromGRPC(status.Error(codes.NotFound, "nope")); !IsNotFound(err) {
		t.Errorf("notfound: %v", err)
	}
	if err := FromGRPC(status.Error(codes.OutOfRange, "compacted")); !IsGoneOrExpired(err) {
		t.Errorf("outofrange: %v", err)
	}
	plain := errors.New("x")
	if FromGRPC(plain) != plain {
		t.Error("non-gRPC error must pass unchanged")
	}
}
