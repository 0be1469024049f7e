package server

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
)

// The exec streaming protocol (kube5-exec.v1). The client asks
//
//	POST /exec/{namespace}/{pod}/{container}?command=ls&command=-l&stdin=1&stdout=1&stderr=1&tty=0
//	Connection: Upgrade
//	Upgrade: kube5-exec.v1
//
// and the kubelet answers "101 Switching Protocols" (Upgrade: kube5-exec.v1). From then on
// both directions carry frames: one byte of channel, four bytes of big-endian payload
// length, the payload:
//
//	0 stdin   client -> kubelet; an empty payload closes the command's stdin
//	1 stdout  kubelet -> client
//	2 stderr  kubelet -> client (merged into stdout with tty=1)
//	3 status  kubelet -> client, the last frame: JSON {"exitCode": N} or {"error": "..."}
//	4 resize  client -> kubelet: JSON {"width": W, "height": H} (tty only)
//
// Errors before the upgrade are plain HTTP errors (404 unknown pod or container, 400 bad
// request). The apiserver proxies pods/exec by forwarding the upgraded connection byte
// for byte (httputil.ReverseProxy does so for 101 responses).
const (
	ExecProtocol = "kube5-exec.v1"

	ChannelStdin  = 0
	ChannelStdout = 1
	ChannelStderr = 2
	ChannelStatus = 3
	ChannelResize = 4

	maxFrame = 1 << 20
)

// ExecStatus is the payload of the status frame.
type ExecStatus struct {
	ExitCode int    `json:"exitCode"`
	Error    string `json:"error,omitempty"`
}

// Resize is the payload of a resize frame.
type Resize struct {
	Width  uint16 `json:"width"`
	Height uint16 `json:"height"`
}

// FrameWriter writes frames; safe for concurrent use.
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// Write sends one frame on channel ch.
func (f *FrameWriter) Write(ch byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hdr [5]byte
	hdr[0] = ch
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := f.w.Write(p)
	return err
}

// ChannelWriter is an io.Writer onto one channel.
func (f *FrameWriter) ChannelWriter(ch byte) io.Writer { return chanWriter{f, ch} }

type chanWriter struct {
	f  *FrameWriter
	ch byte
}

func (c chanWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += maxFrame {
		end := min(off+maxFrame, len(p))
		if err := c.f.Write(c.ch, p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is too large", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return hdr[0], p, err
}

// ExecClient runs a command through an exec endpoint (a kubelet's, or the apiserver's
// pods/exec proxy) and copies its streams; it returns the command's exit code.
// execURL is the full URL with the query (command=..., stdin=..., tty=...).
func ExecClient(execURL string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan Resize) (int, error) {
	u, err := url.Parse(execURL)
	if err != nil {
		return -1, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodPost, execURL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", ExecProtocol)
	if err := req.Write(conn); err != nil {
		return -1, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return -1, fmt.Errorf("exec: %s: %s", resp.Status, b)
	}
	fw := NewFrameWriter(conn)
	if stdin != nil {
		go func() {
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
		}()
	}
	if resize != nil {
		go func() {
			for sz := range resize {
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
			return -1, fmt.Errorf("exec stream ended without a status: %w", err)
		}
		switch ch {
		case ChannelStdout:
			if stdout != nil {
				_, _ = stdout.Write(p)
			}
		case ChannelStderr:
			if stderr != nil {
				_, _ = stderr.Write(p)
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
