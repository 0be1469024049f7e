package remotecommand

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// StreamOptions are the client's ends of the command's streams. A nil Stdin sends
// nothing (ask for stdin=false then); nil writers discard.
type StreamOptions struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize carries terminal sizes to send (tty only); may be nil.
	Resize <-chan Resize
	// Header is added to the upgrade request (e.g. Authorization).
	Header http.Header
}

// UpgradeError is a refusal before the upgrade: the server's status and body (text from
// a kubelet, a JSON v1 Status from the apiserver), for the caller to render.
type UpgradeError struct {
	StatusCode  int
	Status      string
	ContentType string
	Body        []byte
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("exec: %s: %s", e.Status, strings.TrimSpace(string(e.Body)))
}

// Exec runs a command through an exec endpoint (a kubelet's /exec/..., or the
// apiserver's pods/exec) and copies its streams until the status frame; it returns the
// command's exit code. execURL is the full http URL with the query (see Request.Query).
// Cancelling ctx closes the connection.
func Exec(ctx context.Context, execURL string, o StreamOptions) (int, error) {
	u, err := url.Parse(execURL)
	if err != nil {
		return -1, err
	}
	if u.Scheme != "http" {
		return -1, fmt.Errorf("exec: unsupported scheme %q (only http)", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	// A cancelled ctx unblocks the frame reader below by closing the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, execURL, nil)
	if err != nil {
		return -1, err
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	if err := req.Write(conn); err != nil {
		return -1, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return -1, &UpgradeError{StatusCode: resp.StatusCode, Status: resp.Status, ContentType: resp.Header.Get("Content-Type"), Body: b}
	}
	fw := NewFrameWriter(conn)
	if o.Stdin != nil {
		go copyStdin(fw, o.Stdin)
	}
	if o.Resize != nil {
		go func() {
			for sz := range o.Resize {
				b, _ := json.Marshal(sz)
				if fw.Write(ChannelResize, b) != nil {
					return
				}
			}
		}()
	}
	for {
		ch, p, err := ReadFrame(br)
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			return -1, fmt.Errorf("exec stream ended without a status: %w", err)
		}
		switch ch {
		case ChannelStdout:
			if o.Stdout != nil {
				_, _ = o.Stdout.Write(p)
			}
		case ChannelStderr:
			if o.Stderr != nil {
				_, _ = o.Stderr.Write(p)
			}
		case ChannelStatus:
			var st ExecStatus
			if err := json.Unmarshal(p, &st); err != nil {
				return -1, err
			}
			if st.Error != "" {
				return st.ExitCode, errors.New(st.Error)
			}
			return st.ExitCode, nil
		}
	}
}

// copyStdin sends stdin in frames and an empty frame at its end, which closes the
// command's stdin (so `cat` ends). It stops when the connection fails.
func copyStdin(fw *FrameWriter, stdin io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			if fw.Write(ChannelStdin, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			_ = fw.Write(ChannelStdin, nil)
			return
		}
	}
}
