package portforward

import (
	"net/http"
	"strings"

	"kube5/proto/remotecommand"
)

// IsUpgrade says whether r asks for the port-forward protocol.
func IsUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), Protocol)
}

// Accept hijacks w and answers 101 Switching Protocols. Connect to the pod's port
// before: after this point errors can only be reported with Stream.Fail.
func Accept(w http.ResponseWriter) (*Stream, error) {
	conn, br, err := remotecommand.Hijack(w, Protocol)
	if err != nil {
		return nil, err
	}
	return newStream(conn, br, ChannelToPod, ChannelFromPod), nil
}
