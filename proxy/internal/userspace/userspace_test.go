package userspace

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proxy/internal/conntrack"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/netnstest"
	"kube5/proxy/internal/proxy"
)

func TestLoadBalancerRoundRobinAndAffinity(t *testing.T) {
	lb := newLoadBalancer()
	now := time.Unix(1000, 0)
	lb.now = func() time.Time { return now }
	a, b, c := proxy.Endpoint{IP: "10.244.1.2", Port: 80}, proxy.Endpoint{IP: "10.244.1.3", Port: 80}, proxy.Endpoint{IP: "10.244.1.4", Port: 80}
	lb.update([]proxy.Endpoint{a, b, c}, 0)
	var got []proxy.Endpoint
	for range 6 {
		ep, _ := lb.pick("1.1.1.1")
		got = append(got, ep)
	}
	if want := []proxy.Endpoint{a, b, c, a, b, c}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("round robin: %v, want %v", got, want)
	}
	lb.update([]proxy.Endpoint{a, b, c}, 10)
	first, _ := lb.pick("1.1.1.1")
	for range 5 {
		if ep, _ := lb.pick("1.1.1.1"); ep != first {
			t.Fatalf("affinity broken: %v then %v", first, ep)
		}
	}
	if other, _ := lb.pick("2.2.2.2"); other == first {
		t.Fatalf("a second client got the first one's endpoint while others were next")
	}
	now = now.Add(11 * time.Second)
	lb.pick("1.1.1.1") // expired: round robin again, no panic
	lb.update(nil, 10)
	if _, ok := lb.pick("1.1.1.1"); ok {
		t.Fatal("picked an endpoint from none")
	}
}

func svc(name, ip string, ports ...*corev1.ServicePort) *corev1.Service {
	return &corev1.Service{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: &corev1.ServiceSpec{ClusterIp: ip, Ports: ports}}
}

func eps(name string, ips []string, port *corev1.EndpointPort) *corev1.Endpoints {
	ss := &corev1.EndpointSubset{Ports: []*corev1.EndpointPort{port}}
	for _, ip := range ips {
		ss.Addresses = append(ss.Addresses, &corev1.EndpointAddress{Ip: ip})
	}
	return &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name}, Subsets: []*corev1.EndpointSubset{ss}}
}

func spn(name, proto string) proxy.ServicePortName {
	return proxy.ServicePortName{NamespacedName: proxy.NamespacedName{Namespace: "default", Name: name}, Protocol: proto}
}

func TestKernelUserspace(t *testing.T) {
	node := netnstest.New(t, "node")
	node.NewBridge(t, "cbr0", "10.244.1.1/24")
	node.MustRun(t, "ip", "link", "add", "kube5-svc", "type", "bridge")
	node.MustRun(t, "ip", "link", "set", "kube5-svc", "up")
	node.MustRun(t, "ip", "route", "add", "10.0.0.0/24", "dev", "kube5-svc")
	var ips []string
	for i := range 3 {
		pod := node.AddPod(t, "cbr0", fmt.Sprintf("10.244.1.%d/24", i+2), "10.244.1.1")
		pod.ServeIP(t)
		ips = append(ips, pod.IP)
	}
	dial := node.Dialer(t)
	ct := conntrack.NewAt(node.Path)
	t.Cleanup(ct.Close)
	p := New(Config{
		IPTables: iptables.New(node.Exec()), SyncPeriod: time.Hour,
		Listen: func(network, addr string) (l net.Listener, err error) {
			err = node.Do(func() error { l, err = net.Listen(network, addr); return err })
			return
		},
		ListenPacket: func(network, addr string) (l net.PacketConn, err error) {
			err = node.Do(func() error { l, err = net.ListenPacket(network, addr); return err })
			return
		},
		Dial:      dial,
		Conntrack: ct,
	})
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, sp := range p.ports {
			sp.sock.close()
		}
	})
	p.Tracker.SetSynced(true, true)
	sticky := svc("sticky", "10.0.0.11", &corev1.ServicePort{Port: 80, Protocol: "TCP"})
	sticky.Spec.SessionAffinity = "ClientIP"
	for _, s := range []*corev1.Service{
		svc("web", "10.0.0.10", &corev1.ServicePort{Port: 80, Protocol: "TCP"}),
		sticky,
		svc("empty", "10.0.0.12", &corev1.ServicePort{Port: 80, Protocol: "TCP"}),
		svc("dns", "10.0.0.13", &corev1.ServicePort{Port: 53, Protocol: "UDP"}),
	} {
		p.Tracker.ServiceChanged("default", s.Metadata.Name, s)
	}
	p.Tracker.EndpointsChanged("default", "web", eps("web", ips, &corev1.EndpointPort{Port: 8080, Protocol: "TCP"}))
	p.Tracker.EndpointsChanged("default", "sticky", eps("sticky", ips, &corev1.EndpointPort{Port: 8080, Protocol: "TCP"}))
	p.Tracker.EndpointsChanged("default", "dns", eps("dns", ips, &corev1.EndpointPort{Port: 5353, Protocol: "UDP"}))
	p.SyncOnce()

	get := func(addr string) (string, error) {
		c, err := dial("tcp", addr, 3*time.Second)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		return string(b), err
	}
	t.Run("round robin through the ClusterIP", func(t *testing.T) {
		counts := map[string]int{}
		var prev string
		for i := range 30 {
			got, err := get("10.0.0.10:80")
			if err != nil {
				t.Fatal(err)
			}
			if got == prev {
				t.Fatalf("connection %d went to %s twice in a row", i, got)
			}
			prev = got
			counts[got]++
		}
		for _, ip := range ips {
			if counts[ip] != 10 {
				t.Fatalf("round robin shares %v, want 10 each", counts)
			}
		}
	})
	t.Run("listener port without iptables", func(t *testing.T) {
		port := p.Port(spn("web", "TCP"))
		if port == 0 {
			t.Fatal("no listener for web")
		}
		if got, err := get(fmt.Sprintf("127.0.0.1:%d", port)); err != nil || got == "" {
			t.Fatalf("direct: %q %v", got, err)
		}
	})
	t.Run("session affinity", func(t *testing.T) {
		first, err := get("10.0.0.11:80")
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			if got, err := get("10.0.0.11:80"); err != nil || got != first {
				t.Fatalf("affinity broken: %q (%v), want %q", got, err, first)
			}
		}
	})
	t.Run("no endpoints rejects", func(t *testing.T) {
		start := time.Now()
		if _, err := get("10.0.0.12:80"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("got %v, want connection refused", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("refusal took %s", d)
		}
		// On the listener's own port: the connection is reset at once.
		_, err := get(fmt.Sprintf("127.0.0.1:%d", p.Port(spn("empty", "TCP"))))
		if err == nil {
			t.Fatal("listener of a service without endpoints answered")
		}
	})
	t.Run("udp datagrams round robin", func(t *testing.T) {
		c, err := dial("udp", "10.0.0.13:53", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		counts := map[string]int{}
		buf := make([]byte, 100)
		for range 6 {
			c.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := c.Write([]byte("who")); err != nil {
				t.Fatal(err)
			}
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			counts[string(buf[:n])]++
		}
		for _, ip := range ips {
			if counts[ip] != 2 {
				t.Fatalf("UDP shares %v, want 2 each", counts)
			}
		}
	})
	t.Run("udp flow made before the service reaches it once it has an endpoint", func(t *testing.T) {
		// A client that sent before the service existed has an un-NATed conntrack entry
		// (its datagrams died on the guard bridge); without the cleanup every later
		// datagram from the same socket would miss the REDIRECT.
		pc := node.ListenPacket(t, "udp", "0.0.0.0:0")
		to := &net.UDPAddr{IP: net.ParseIP("10.0.0.14"), Port: 53}
		buf := make([]byte, 100)
		ask := func(timeout time.Duration) (string, error) {
			if _, err := pc.WriteTo([]byte("who"), to); err != nil {
				return "", err
			}
			pc.SetReadDeadline(time.Now().Add(timeout))
			n, _, err := pc.ReadFrom(buf)
			return string(buf[:n]), err
		}
		if got, err := ask(100 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("answered %q (%v) before it was a service", got, err)
		}
		p.Tracker.ServiceChanged("default", "late", svc("late", "10.0.0.14", &corev1.ServicePort{Port: 53, Protocol: "UDP"}))
		p.Tracker.EndpointsChanged("default", "late", eps("late", ips[:1], &corev1.EndpointPort{Port: 5353, Protocol: "UDP"}))
		p.SyncOnce()
		deadline := time.Now().Add(3 * time.Second)
		for {
			got, err := ask(300 * time.Millisecond)
			if err == nil && got == ips[0] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the client's datagrams still answered %q (%v) 3s after the service got its endpoint", got, err)
			}
		}
	})
}
