package logs

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"kube5/kubectl/internal/connection"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/codec"
)

// statusError renders a refused streaming request: the apiserver answers a v1 Status
// (so `Error from server (BadRequest): ...` is printed as for any other call), anything
// else is shown as text.
func statusError(code int, contentType string, body io.Reader) error {
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	if strings.Contains(contentType, "json") {
		var st metav1.Status
		if codec.UnmarshalJSON(b, &st) == nil && st.GetMessage() != "" {
			return apierrors.FromStatus(&st)
		}
	}
	return fmt.Errorf("the server answered %d: %s", code, strings.TrimSpace(string(b)))
}

// requestError is upstream's message for a server that is not there.
func requestError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" && oe.Addr != nil {
		return &connection.ExitError{Code: 1, Msg: fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", oe.Addr)}
	}
	return err
}

func bytesReader(b []byte) io.Reader { return strings.NewReader(string(b)) }
