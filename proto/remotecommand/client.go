package remotecommand

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// Exec runs a command through an exec endpoint (a kubelet's /exec/..., or the
// apiserver's pods/exec) and copies its streams until the status frame; it returns the
// command's exit code. execURL is the full http URL with the query (see Request.Query).
// Cancelling ctx closes the connection.
func Exec(ctx context.Context, execURL string, o StreamOptions) (int, error) {
	conn, br, err := DialUpgrade(ctx, execURL, Protocol, "exec", o.Header)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	// A cancelled ctx unblocks the frame reader below by closing the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
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
