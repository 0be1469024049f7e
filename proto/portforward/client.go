package portforward

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// UpgradeError is a refusal before the upgrade: the server's status and body (text from
// a kubelet, a JSON v1 Status from the apiserver), for the caller to render.
type UpgradeError struct {
	StatusCode  int
	Status      string
	ContentType string
	Body        []byte
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("port-forward: %s: %s", e.Status, strings.TrimSpace(string(e.Body)))
}

// Dial opens one forwarded connection through a port-forward endpoint (a kubelet's
// /portForward/..., or the apiserver's pods/portforward) with the port in the query
// (?ports=N). header is added to the request (e.g. Authorization). ctx bounds the
// dial and the upgrade only; Close the stream to end it.
func Dial(ctx context.Context, pfURL string, header http.Header) (*Stream, error) {
	u, err := url.Parse(pfURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("port-forward: unsupported scheme %q (only http)", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	// A cancelled ctx unblocks the upgrade below by closing the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	s, err := upgrade(ctx, conn, pfURL, header)
	if !stop() || err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return s, nil
}

func upgrade(ctx context.Context, conn net.Conn, pfURL string, header http.Header) (*Stream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pfURL, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &UpgradeError{StatusCode: resp.StatusCode, Status: resp.Status, ContentType: resp.Header.Get("Content-Type"), Body: b}
	}
	return newStream(conn, br, ChannelFromPod, ChannelToPod), nil
}
