// Package remotecommand is the exec streaming protocol (kube5-exec.v1) shared by the
// kubelet (server), the apiserver (which proxies pods/exec to the kubelet byte for byte)
// and kubectl (client). It lives in kube5/proto because modules may import only proto.
//
// The client asks
//
//	POST /exec/{namespace}/{pod}/{container}?command=ls&command=-l&stdin=1&stdout=1&stderr=1&tty=0
//	Connection: Upgrade
//	Upgrade: kube5-exec.v1
//
// (or, through the apiserver, POST/GET /api/v1/namespaces/{ns}/pods/{name}/exec?container=...
// with the same query; attach, to the container's main process, is the same without
// command: POST /attach/{namespace}/{pod}/{container}, pods/{name}/attach) and the
// kubelet answers "101 Switching Protocols"
// (Upgrade: kube5-exec.v1). From then on both directions carry frames: one byte of
// channel, four bytes of big-endian payload length, the payload:
//
//	0 stdin   client -> kubelet; an empty payload closes the command's stdin
//	1 stdout  kubelet -> client
//	2 stderr  kubelet -> client (merged into stdout with tty=1)
//	3 status  kubelet -> client, the last frame: JSON {"exitCode": N} or {"error": "..."}
//	4 resize  client -> kubelet: JSON {"width": W, "height": H} (tty only)
//
// Errors before the upgrade are plain HTTP errors (the kubelet answers text, the
// apiserver a v1 Status).
package remotecommand

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
)

// Protocol is the Upgrade token of the exec stream.
const Protocol = "kube5-exec.v1"

// The channels of a frame.
const (
	ChannelStdin  = 0
	ChannelStdout = 1
	ChannelStderr = 2
	ChannelStatus = 3
	ChannelResize = 4
)

// MaxFrame bounds one frame's payload, so a corrupt length cannot make a reader allocate
// gigabytes; writers split larger writes.
const MaxFrame = 1 << 20

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

// Request is what an exec query asks for.
type Request struct {
	Command []string
	Stdin   bool
	Stdout  bool
	Stderr  bool
	TTY     bool
}

// ParseRequest reads command, stdin, stdout, stderr and tty from an exec query.
// stdout and stderr default to on when absent (a bare ?command=x still shows output);
// stderr is off with a tty, whose output is one merged stream.
func ParseRequest(q url.Values) Request {
	r := Request{
		Command: q["command"],
		Stdin:   boolParam(q, "stdin"),
		Stdout:  boolParam(q, "stdout") || !q.Has("stdout"),
		Stderr:  boolParam(q, "stderr") || !q.Has("stderr"),
		TTY:     boolParam(q, "tty"),
	}
	if r.TTY {
		r.Stderr = false
	}
	return r
}

// Query encodes r into q (which may already hold other parameters, e.g. container).
func (r Request) Query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	for _, c := range r.Command {
		q.Add("command", c)
	}
	q.Set("stdin", strconv.FormatBool(r.Stdin))
	q.Set("stdout", strconv.FormatBool(r.Stdout))
	q.Set("stderr", strconv.FormatBool(r.Stderr))
	q.Set("tty", strconv.FormatBool(r.TTY))
	return q
}

func boolParam(q url.Values, k string) bool {
	b, _ := strconv.ParseBool(q.Get(k))
	return b
}

// FrameWriter writes frames; safe for concurrent use (stdout and stderr are copied by
// different goroutines).
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// Write sends one frame on channel ch; p must not exceed MaxFrame (ChannelWriter splits).
func (f *FrameWriter) Write(ch byte, p []byte) error {
	if len(p) > MaxFrame {
		return fmt.Errorf("frame of %d bytes is too large", len(p))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// One write per frame: header and payload must not interleave with another frame.
	buf := make([]byte, 5+len(p))
	buf[0] = ch
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(p)))
	copy(buf[5:], p)
	_, err := f.w.Write(buf)
	return err
}

// ChannelWriter is an io.Writer onto one channel.
func (f *FrameWriter) ChannelWriter(ch byte) io.Writer { return chanWriter{f, ch} }

type chanWriter struct {
	f  *FrameWriter
	ch byte
}

func (c chanWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += MaxFrame {
		end := min(off+MaxFrame, len(p))
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
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is too large", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return hdr[0], p, err
}
