package portforward

import (
	"context"
	"net/http"

	"kube5/proto/remotecommand"
)

// UpgradeError is a refusal before the upgrade (What "port-forward").
type UpgradeError = remotecommand.UpgradeError

// Dial opens one forwarded connection through a port-forward endpoint (a kubelet's
// /portForward/..., or the apiserver's pods/portforward) with the port in the query
// (?ports=N). header is added to the request (e.g. Authorization). ctx bounds the
// dial and the upgrade only; Close the stream to end it.
func Dial(ctx context.Context, pfURL string, header http.Header) (*Stream, error) {
	conn, br, err := remotecommand.DialUpgrade(ctx, pfURL, Protocol, "port-forward", header)
	if err != nil {
		return nil, err
	}
	return newStream(conn, br, ChannelFromPod, ChannelToPod), nil
}
