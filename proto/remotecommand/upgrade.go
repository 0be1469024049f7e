package remotecommand

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The HTTP upgrade both of kube5's streaming protocols start with (exec/attach here,
// port-forward in kube5/proto/portforward): a POST with Connection: Upgrade and
// Upgrade: <protocol>, answered 101 Switching Protocols, then frames on the raw
// connection.

// UpgradeError is a refusal before the upgrade: the server's status and body (text from
// a kubelet, a JSON v1 Status from the apiserver), for the caller to render. What names
// the protocol's command in the message ("exec", "port-forward").
type UpgradeError struct {
	What        string
	StatusCode  int
	Status      string
	ContentType string
	Body        []byte
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.What, e.Status, strings.TrimSpace(string(e.Body)))
}

// Hijack takes over w's connection and answers 101 Switching Protocols to protocol. The
// reader may already hold frames the client sent right after its request.
func Hijack(w http.ResponseWriter, protocol string) (net.Conn, *bufio.Reader, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be upgraded")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+protocol+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, brw.Reader, nil
}

// DialUpgrade connects to rawURL (http only) and upgrades the connection to protocol,
// with header added to the request; what names the command in errors. ctx bounds the
// dial and the upgrade only: the caller owns the connection afterwards.
func DialUpgrade(ctx context.Context, rawURL, protocol, what string, header http.Header) (net.Conn, *bufio.Reader, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme != "http" {
		return nil, nil, fmt.Errorf("%s: unsupported scheme %q (only http)", what, u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, err
	}
	// A cancelled ctx unblocks the upgrade below by closing the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	br, err := upgrade(ctx, conn, rawURL, protocol, what, header)
	if !stop() || err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	return conn, br, nil
}

func upgrade(ctx context.Context, conn net.Conn, rawURL, protocol, what string, header http.Header) (*bufio.Reader, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", protocol)
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
		return nil, &UpgradeError{What: what, StatusCode: resp.StatusCode, Status: resp.Status, ContentType: resp.Header.Get("Content-Type"), Body: b}
	}
	return br, nil
}
