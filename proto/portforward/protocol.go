// Package portforward is the port-forward streaming protocol (kube5-portforward.v1)
// shared by the kubelet (server), the apiserver (which proxies pods/portforward to the
// kubelet byte for byte, as it does exec) and kubectl (client).
//
// One upgraded HTTP connection carries one forwarded TCP connection: kubectl, for each
// local connection it accepts, asks
//
//	POST /api/v1/namespaces/{ns}/pods/{name}/portforward?ports=8888   (apiserver, GET too)
//	POST /portForward/{namespace}/{pod}?ports=8888                     (kubelet)
//	Connection: Upgrade
//	Upgrade: kube5-portforward.v1
//
// The kubelet connects to 127.0.0.1:8888 inside the pod's network namespace first and
// only then answers "101 Switching Protocols", so a pod that is gone or a port nobody
// listens on is a plain HTTP error (text from the kubelet, a v1 Status from the
// apiserver) that names the pod and the cause. After the 101 both directions carry
// kube5/proto/remotecommand's frames (one byte of channel, four bytes of big-endian
// length, the payload):
//
//	0 data   client -> pod; an empty payload: the client is done sending (the kubelet
//	         half-closes its connection to the pod)
//	1 data   pod -> client; an empty payload: the pod is done sending
//	2 error  kubelet -> client, the last frame: what broke the connection to the pod
//
// The kubelet closes the stream when both directions have ended; either side closing it
// ends the forwarded connection.
//
// Why a stream per connection rather than upstream's SPDY multiplexing: no stream ids,
// windows or flow control to get right (each TCP connection has its own), a slow reader
// on one forwarded connection can never stall another, and the apiserver's existing
// upgrade proxy carries it unchanged. Why frames rather than raw bytes after the 101: a
// half-close (a client that shuts down its sending side and still reads the answer)
// must survive the proxy, which copies raw bytes and drops both ways when one ends, and
// an error after the upgrade needs a way to be told.
package portforward

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"

	"kube5/proto/remotecommand"
)

// Protocol is the Upgrade token of the port-forward stream.
const Protocol = "kube5-portforward.v1"

// The channels of a frame.
const (
	ChannelToPod   = 0
	ChannelFromPod = 1
	ChannelError   = 2
)

// ParsePort reads the one port of a request's "ports" parameter.
func ParsePort(q url.Values) (int32, error) {
	ports := q["ports"]
	switch {
	case len(ports) == 0 || ports[0] == "":
		return 0, errors.New("a port is required: add ?ports=PORT (the pod's port to forward to)")
	case len(ports) > 1:
		return 0, fmt.Errorf("one port per connection: got ports %v, open one request per port", ports)
	}
	n, err := strconv.Atoi(ports[0])
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q: must be a number between 1 and 65535", ports[0])
	}
	return int32(n), nil
}

// Stream is one end of a forwarded connection: reads return what the other end sent,
// writes go to it. Read is for one goroutine; Write and CloseWrite for another.
type Stream struct {
	conn    net.Conn
	r       io.Reader
	fw      *remotecommand.FrameWriter
	in, out byte

	pending []byte
	rerr    error

	mu      sync.Mutex
	wclosed bool
	once    sync.Once
}

func newStream(conn net.Conn, r *bufio.Reader, in, out byte) *Stream {
	return &Stream{conn: conn, r: r, fw: remotecommand.NewFrameWriter(conn), in: in, out: out}
}

// Read returns the peer's data; io.EOF once the peer is done sending. An error frame
// is returned as an error carrying its message.
func (s *Stream) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		ch, b, err := remotecommand.ReadFrame(s.r)
		switch {
		case err != nil:
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			s.rerr = fmt.Errorf("the port-forward stream broke: %w", err)
		case ch == ChannelError:
			s.rerr = errors.New(string(b))
		case ch == s.in && len(b) == 0:
			s.rerr = io.EOF
		case ch == s.in:
			s.pending = b
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// Write sends p to the peer.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	closed := s.wclosed
	s.mu.Unlock()
	if closed {
		return 0, errors.New("write after CloseWrite")
	}
	if len(p) == 0 {
		return 0, nil // an empty frame would mean the end
	}
	return s.fw.ChannelWriter(s.out).Write(p)
}

// CloseWrite tells the peer this side is done sending; reading goes on.
func (s *Stream) CloseWrite() error {
	s.mu.Lock()
	if s.wclosed {
		s.mu.Unlock()
		return nil
	}
	s.wclosed = true
	s.mu.Unlock()
	return s.fw.Write(s.out, nil)
}

// Close ends the stream both ways.
func (s *Stream) Close() error {
	s.once.Do(func() { s.conn.Close() })
	return nil
}

// Fail sends err's message to the client as the last frame and closes the stream
// (kubelet side).
func (s *Stream) Fail(err error) {
	_ = s.fw.Write(ChannelError, []byte(err.Error()))
	s.Close()
}

// Splice copies between a TCP connection and a stream both ways, passing half-closes
// on, until both directions have ended (nil) or one failed (its error). The caller
// closes both afterwards, which also ends a direction still blocked.
func Splice(tcp net.Conn, s *Stream) error {
	errc := make(chan error, 2)
	go func() {
		_, err := io.Copy(s, tcp)
		if err == nil {
			err = s.CloseWrite()
		}
		errc <- err
	}()
	go func() {
		_, err := io.Copy(tcp, s)
		if err == nil {
			if cw, ok := tcp.(interface{ CloseWrite() error }); ok {
				err = cw.CloseWrite()
			}
		}
		errc <- err
	}()
	for range 2 {
		if err := <-errc; err != nil {
			return err
		}
	}
	return nil
}
