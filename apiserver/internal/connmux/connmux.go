// Package connmux serves gRPC and HTTP/1 REST on one port (design.md §4: 8080 carries
// both). It peeks at the first bytes of each connection: the HTTP/2 client preface goes to
// the native gRPC server (its own transport is much faster than grpc.Server.ServeHTTP),
// anything else to the net/http server. REST clients speak HTTP/1.1 over plain TCP, as
// kubectl and curl do against http://, so the preface is a reliable discriminator.
package connmux

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"sync"
	"time"
)

// http2Preface is what every HTTP/2 client sends first (RFC 9113 §3.4).
var http2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// Mux splits one listener into two.
type Mux struct {
	root   net.Listener
	grpc   *chanListener
	http   *chanListener
	closed chan struct{}
	once   sync.Once
}

// New wraps l; call Serve to start accepting.
func New(l net.Listener) *Mux {
	m := &Mux{root: l, closed: make(chan struct{})}
	m.grpc = &chanListener{addr: l.Addr(), conns: make(chan net.Conn), closed: m.closed}
	m.http = &chanListener{addr: l.Addr(), conns: make(chan net.Conn), closed: m.closed}
	return m
}

// GRPC is the listener of HTTP/2 (gRPC) connections.
func (m *Mux) GRPC() net.Listener { return m.grpc }

// HTTP is the listener of every other connection.
func (m *Mux) HTTP() net.Listener { return m.http }

// Serve accepts until the root listener is closed.
func (m *Mux) Serve() error {
	for {
		c, err := m.root.Accept()
		if err != nil {
			m.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go m.route(c)
	}
}

func (m *Mux) route(c net.Conn) {
	// A client that connects and says nothing for this long is dropped.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, 4096)
	head, err := br.Peek(len(http2Preface))
	_ = c.SetReadDeadline(time.Time{})
	target := m.http
	if err == nil && bytes.Equal(head, http2Preface) {
		target = m.grpc
	} else if err != nil && len(head) == 0 {
		c.Close()
		return
	}
	pc := &peekedConn{Conn: c, r: br}
	select {
	case target.conns <- pc:
	case <-m.closed:
		c.Close()
	}
}

// Close stops both listeners and the root.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.closed)
		err = m.root.Close()
	})
	return err
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }
