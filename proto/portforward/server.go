package portforward

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// IsUpgrade says whether r asks for the port-forward protocol.
func IsUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), Protocol)
}

// Accept hijacks w and answers 101 Switching Protocols. Connect to the pod's port
// before: after this point errors can only be reported with Stream.Fail.
func Accept(w http.ResponseWriter) (*Stream, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("connection cannot be upgraded")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+Protocol+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	// brw.Reader may already hold frames the client sent right after its request.
	return newStream(conn, brw.Reader, ChannelToPod, ChannelFromPod), nil
}
