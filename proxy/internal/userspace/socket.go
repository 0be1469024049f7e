package userspace

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"k8s.io/klog/v2"

	"kube5/proxy/internal/proxy"
)

// socket is the listener of one service port.
type socket interface {
	port() int
	close()
}

const dialTimeout = 5 * time.Second

// tcpSocket accepts connections and pipes each to an endpoint.
type dialFunc func(network, addr string, timeout time.Duration) (net.Conn, error)

type tcpSocket struct {
	ln   *net.TCPListener
	dial dialFunc
	name proxy.ServicePortName
	lb   *loadBalancer
	wg   sync.WaitGroup
}

func newTCPSocket(listen func(string, string) (net.Listener, error), dial dialFunc, addr string, name proxy.ServicePortName, lb *loadBalancer) (*tcpSocket, error) {
	ln, err := listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &tcpSocket{ln: ln.(*net.TCPListener), dial: dial, name: name, lb: lb}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *tcpSocket) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *tcpSocket) close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *tcpSocket) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				klog.ErrorS(err, "Accept failed", "service", s.name)
			}
			return
		}
		go s.handle(c)
	}
}

func (s *tcpSocket) handle(in *net.TCPConn) {
	client, _, _ := net.SplitHostPort(in.RemoteAddr().String())
	// Try each endpoint at most once: one that refuses is skipped, as upstream's
	// userspace proxy does, so a dying pod costs a retry, not a failed connection.
	for range max(s.lb.count(), 1) {
		ep, ok := s.lb.pick(client)
		if !ok {
			break
		}
		out, err := s.dial("tcp", ep.String(), dialTimeout)
		if err != nil {
			klog.V(3).InfoS("Dialing endpoint failed", "service", s.name, "endpoint", ep, "err", err)
			continue
		}
		klog.V(5).InfoS("Proxying connection", "service", s.name, "client", in.RemoteAddr(), "endpoint", ep)
		pipe(in, out.(*net.TCPConn))
		return
	}
	// No endpoint: reset, so the client sees a refusal rather than an accepted
	// connection that says nothing.
	in.SetLinger(0)
	in.Close()
}

// pipe copies both ways (splice on Linux) and half-closes each side when the other ends.
func pipe(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src *net.TCPConn) {
		defer wg.Done()
		io.Copy(dst, src)
		dst.CloseWrite()
	}
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// udpSocket forwards each datagram to the next endpoint (or the client's sticky one)
// through a socket per client and endpoint, whose replies go back to the client.
type udpSocket struct {
	conn *net.UDPConn
	// pc reads each datagram's local destination and sends replies from it: a
	// REDIRECTed datagram arrives for 127.0.0.1 (or the interface address), and a reply
	// from any other source would not match conntrack, so the client would never see
	// it come from the ClusterIP.
	pc   *ipv4.PacketConn
	dial dialFunc
	name proxy.ServicePortName
	lb   *loadBalancer

	mu       sync.Mutex
	sessions map[string]*udpSession // client addr + "|" + endpoint
	wg       sync.WaitGroup
}

type udpSession struct {
	conn *net.UDPConn
	last time.Time
}

const udpIdleTimeout = 60 * time.Second

func newUDPSocket(listen func(string, string) (net.PacketConn, error), dial dialFunc, addr string, name proxy.ServicePortName, lb *loadBalancer) (*udpSocket, error) {
	pc, err := listen("udp", addr)
	if err != nil {
		return nil, err
	}
	s := &udpSocket{conn: pc.(*net.UDPConn), dial: dial, name: name, lb: lb, sessions: map[string]*udpSession{}}
	s.pc = ipv4.NewPacketConn(s.conn)
	if err := s.pc.SetControlMessage(ipv4.FlagDst, true); err != nil {
		pc.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *udpSocket) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *udpSocket) close() {
	s.conn.Close()
	s.mu.Lock()
	for k, sess := range s.sessions {
		sess.conn.Close()
		delete(s.sessions, k)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *udpSocket) serve() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, cm, src, err := s.pc.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				klog.ErrorS(err, "Reading datagram failed", "service", s.name)
			}
			return
		}
		client, ok := src.(*net.UDPAddr)
		if !ok {
			continue
		}
		var local net.IP
		if cm != nil {
			local = cm.Dst
		}
		ep, ok := s.lb.pick(client.IP.String())
		if !ok {
			continue // no endpoints: dropped (the REJECT rule answers ClusterIP traffic)
		}
		sess, err := s.session(client, local, ep)
		if err != nil {
			klog.V(3).InfoS("Dialing UDP endpoint failed", "service", s.name, "endpoint", ep, "err", err)
			continue
		}
		if _, err := sess.conn.Write(buf[:n]); err != nil {
			klog.V(3).InfoS("Writing to UDP endpoint failed", "service", s.name, "endpoint", ep, "err", err)
		}
	}
}

func (s *udpSocket) session(client *net.UDPAddr, local net.IP, ep proxy.Endpoint) (*udpSession, error) {
	key := client.String() + "|" + ep.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[key]; ok {
		sess.last = time.Now()
		return sess, nil
	}
	c, err := s.dial("udp", ep.String(), dialTimeout)
	if err != nil {
		return nil, err
	}
	sess := &udpSession{conn: c.(*net.UDPConn), last: time.Now()}
	s.sessions[key] = sess
	s.wg.Add(1)
	go s.replies(key, client, local, sess)
	return sess, nil
}

// replies copies the endpoint's datagrams back to the client until the session idles out.
func (s *udpSocket) replies(key string, client *net.UDPAddr, local net.IP, sess *udpSession) {
	var cm *ipv4.ControlMessage
	if local != nil {
		cm = &ipv4.ControlMessage{Src: local}
	}
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		sess.conn.SetReadDeadline(time.Now().Add(udpIdleTimeout))
		n, err := sess.conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.mu.Lock()
				idle := time.Since(sess.last) >= udpIdleTimeout
				if idle {
					delete(s.sessions, key)
				}
				s.mu.Unlock()
				if !idle {
					continue
				}
			}
			sess.conn.Close()
			return
		}
		s.mu.Lock()
		sess.last = time.Now()
		s.mu.Unlock()
		if _, err := s.pc.WriteTo(buf[:n], cm, client); err != nil {
			klog.V(3).InfoS("Writing UDP reply failed", "service", s.name, "client", client, "err", err)
		}
	}
}
