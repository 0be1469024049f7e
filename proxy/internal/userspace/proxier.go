// Package userspace is kube-proxy's userspace mode (--proxy-mode=userspace), the original
// kube-proxy: per service port a listener on this node that round-robins TCP connections
// and UDP datagrams across the ready endpoints, and iptables REDIRECT rules sending
// ClusterIP:port (and NodePorts) to it. Without iptables (nil IPTables) the listeners
// are still usable on their own ports, which Port reports.
package userspace

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"kube5/proxy/internal/conntrack"
	"kube5/proxy/internal/iptables"
	"kube5/proxy/internal/metrics"
	"kube5/proxy/internal/proxy"
	"kube5/proxy/internal/runner"
)

// Chains of userspace mode, upstream's names; filter KUBE-SERVICES is shared with
// iptables mode (the no-endpoint REJECTs).
const (
	portalsContainer iptables.Chain = "KUBE-PORTALS-CONTAINER"
	portalsHost      iptables.Chain = "KUBE-PORTALS-HOST"
	kubeServices     iptables.Chain = "KUBE-SERVICES"
)

// JumpRules lead from the built-in chains into userspace mode's chains.
var JumpRules = []struct {
	Table iptables.Table
	From  iptables.Chain
	Args  []string
}{
	{iptables.TableNAT, iptables.ChainPrerouting, []string{"-m", "comment", "--comment", "handle ClusterIPs; NOTE: this must be before the NodePort rules", "-j", string(portalsContainer)}},
	{iptables.TableNAT, iptables.ChainOutput, []string{"-m", "comment", "--comment", "handle ClusterIPs; NOTE: this must be before the NodePort rules", "-j", string(portalsHost)}},
	{iptables.TableFilter, iptables.ChainOutput, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", string(kubeServices)}},
	{iptables.TableFilter, iptables.ChainForward, []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes service portals", "-j", string(kubeServices)}},
}

// Chains are userspace mode's chains, for cleanup.
var Chains = []struct {
	Table iptables.Table
	Chain iptables.Chain
}{{iptables.TableNAT, portalsContainer}, {iptables.TableNAT, portalsHost}, {iptables.TableFilter, kubeServices}}

// Config configures the userspace proxier.
type Config struct {
	// IPTables nil: no portal rules, listeners only.
	IPTables iptables.Interface
	// ListenIP is where listeners bind (upstream --bind-address; 0.0.0.0 so REDIRECTed
	// traffic from any interface and from the host reaches them).
	ListenIP                  string
	MinSyncPeriod, SyncPeriod time.Duration
	// Listen, ListenPacket and Dial default to the net package's; tests pass functions
	// that open sockets inside their network namespace.
	Listen       func(network, addr string) (net.Listener, error)
	ListenPacket func(network, addr string) (net.PacketConn, error)
	Dial         func(network, addr string, timeout time.Duration) (net.Conn, error)
	// Conntrack deletes UDP conntrack entries a portal change left stale; nil: never.
	Conntrack conntrack.Interface
	Metrics   *metrics.Metrics
	Health    *metrics.Health
}

type servicePort struct {
	sp   *proxy.ServicePort
	lb   *loadBalancer
	sock socket
	// redirected: the portal rules in the kernel send this port to sock (it had
	// endpoints at the last successful portal write).
	redirected bool
}

// Proxier is the userspace proxier.
type Proxier struct {
	cfg     Config
	Tracker *proxy.Tracker
	runner  *runner.BoundedFrequency

	mu       sync.Mutex
	ports    map[proxy.ServicePortName]*servicePort
	lastRule []byte
	ensured  time.Time
}

// New returns a userspace proxier.
func New(cfg Config) *Proxier {
	if cfg.ListenIP == "" {
		cfg.ListenIP = "0.0.0.0"
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(nil)
	}
	if cfg.Health == nil {
		cfg.Health = metrics.NewHealth(2 * max(cfg.SyncPeriod, time.Second))
	}
	if cfg.Listen == nil {
		cfg.Listen = net.Listen
	}
	if cfg.ListenPacket == nil {
		cfg.ListenPacket = net.ListenPacket
	}
	if cfg.Dial == nil {
		cfg.Dial = net.DialTimeout
	}
	p := &Proxier{cfg: cfg, Tracker: proxy.NewTracker(), ports: map[proxy.ServicePortName]*servicePort{}}
	p.runner = runner.New("userspace-sync", p.SyncOnce, cfg.MinSyncPeriod, cfg.SyncPeriod)
	return p
}

// Changed asks for a sync.
func (p *Proxier) Changed() {
	p.cfg.Health.QueuedUpdate()
	p.runner.Run()
}

// Run syncs until ctx ends, then closes every listener.
func (p *Proxier) Run(ctx context.Context) {
	p.runner.Loop(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, sp := range p.ports {
		sp.sock.close()
		delete(p.ports, n)
	}
}

// Port returns the listener port of a service port (0: none).
func (p *Proxier) Port(n proxy.ServicePortName) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp, ok := p.ports[n]; ok {
		return sp.sock.port()
	}
	return 0
}

// SyncOnce opens and closes listeners for the current services and rewrites the portals.
func (p *Proxier) SyncOnce() {
	if !p.Tracker.Synced() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	changed := p.Tracker.Apply()
	for n, sp := range p.ports {
		if want, ok := p.Tracker.Services[n]; !ok || !want.Equal(sp.sp) {
			klog.V(2).InfoS("Closing proxy listener", "service", n, "port", sp.sock.port())
			sp.sock.close()
			delete(p.ports, n)
		}
	}
	var failed bool
	for n, want := range p.Tracker.Services {
		sp, ok := p.ports[n]
		if !ok {
			lb := newLoadBalancer()
			addr := net.JoinHostPort(p.cfg.ListenIP, "0")
			var sock socket
			var err error
			switch n.Protocol {
			case "TCP":
				sock, err = newTCPSocket(p.cfg.Listen, p.cfg.Dial, addr, n, lb)
			case "UDP":
				sock, err = newUDPSocket(p.cfg.ListenPacket, p.cfg.Dial, addr, n, lb)
			default:
				klog.V(2).InfoS("Protocol not supported in userspace mode", "service", n, "protocol", n.Protocol)
				continue
			}
			if err != nil {
				klog.ErrorS(err, "Opening proxy listener failed", "service", n)
				failed = true
				continue
			}
			klog.V(2).InfoS("Opened proxy listener", "service", n, "port", sock.port())
			sp = &servicePort{sp: want, lb: lb, sock: sock}
			p.ports[n] = sp
		}
		sp.lb.update(p.Tracker.Endpoints[n], want.StickySeconds)
	}
	if p.cfg.IPTables != nil {
		if err := p.syncPortals(); err != nil {
			klog.ErrorS(err, "Writing portal rules failed")
			p.cfg.Metrics.RestoreFailures.Inc()
			p.lastRule = nil
			failed = true
		} else {
			p.deleteStaleConntrack()
		}
	}
	elapsed := time.Since(start)
	p.cfg.Metrics.SyncDuration.Observe(elapsed.Seconds())
	if failed {
		p.runner.Run()
		return
	}
	now := time.Now()
	for _, t := range changed {
		p.cfg.Metrics.ProgrammingLatency.Observe(now.Sub(t).Seconds())
	}
	p.cfg.Metrics.LastSync.SetToCurrentTime()
	p.cfg.Health.Updated(start)
}

// deleteStaleConntrack deletes the entries of UDP service ports whose portal now
// redirects to a listener it did not redirect to before: one that just got its first
// endpoint (its entries were made while datagrams were rejected or died on the service
// guard bridge, without a REDIRECT) or one whose listener was reopened on a new port
// (its entries redirect to the closed one). Endpoint changes need nothing here: the
// listener picks an endpoint per datagram.
func (p *Proxier) deleteStaleConntrack() {
	var filters []conntrack.Filter
	for _, sp := range p.ports {
		active := sp.lb.count() > 0
		if active && !sp.redirected && conntrack.Cleaned(sp.sp.Protocol()) {
			filters = append(filters, conntrack.FrontendFilters(sp.sp)...)
		}
		sp.redirected = active
	}
	if len(filters) == 0 || p.cfg.Conntrack == nil {
		return
	}
	n, err := p.cfg.Conntrack.Delete(filters)
	if err != nil {
		klog.ErrorS(err, "Deleting stale conntrack entries failed; UDP clients of the changed services may miss their proxy until their entries time out",
			"filters", len(filters), "deleted", n)
		return
	}
	klog.V(2).InfoS("Deleted stale conntrack entries", "entries", n, "filters", len(filters))
}

// syncPortals rewrites the portal chains whole: userspace mode is for small clusters, and
// a full rewrite also repairs outside edits. The restore is skipped when nothing changed
// except once per sync period.
func (p *Proxier) syncPortals() error {
	names := make([]proxy.ServicePortName, 0, len(p.ports))
	for n := range p.ports {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b proxy.ServicePortName) int {
		return strings.Compare(a.String()+a.Protocol, b.String()+b.Protocol)
	})
	var nat, filter bytes.Buffer
	for _, n := range names {
		sp := p.ports[n]
		proto := strings.ToLower(n.Protocol)
		pm := "-p " + proto + " -m " + proto
		dst := fmt.Sprintf("-d %s/32 %s --dport %d", sp.sp.ClusterIP, pm, sp.sp.Port)
		if sp.lb.count() == 0 {
			fmt.Fprintf(&filter, "-A %s -m comment --comment \"%s has no endpoints\" %s -j REJECT\n", kubeServices, n, dst)
			continue
		}
		to := strconv.Itoa(sp.sock.port())
		for _, c := range []iptables.Chain{portalsContainer, portalsHost} {
			fmt.Fprintf(&nat, "-A %s -m comment --comment %s %s -j REDIRECT --to-ports %s\n", c, n, dst, to)
			if sp.sp.NodePort != 0 {
				fmt.Fprintf(&nat, "-A %s -m comment --comment %s -m addrtype --dst-type LOCAL %s --dport %d -j REDIRECT --to-ports %s\n", c, n, pm, sp.sp.NodePort, to)
			}
		}
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "*nat\n:%s - [0:0]\n:%s - [0:0]\n%sCOMMIT\n", portalsContainer, portalsHost, nat.String())
	fmt.Fprintf(&buf, "*filter\n:%s - [0:0]\n%sCOMMIT\n", kubeServices, filter.String())
	periodic := time.Since(p.ensured) >= p.cfg.SyncPeriod
	if bytes.Equal(buf.Bytes(), p.lastRule) && !periodic {
		return nil
	}
	if err := p.cfg.IPTables.Restore(buf.Bytes()); err != nil {
		return err
	}
	p.lastRule = buf.Bytes()
	if periodic || p.ensured.IsZero() {
		for _, j := range JumpRules {
			if _, err := p.cfg.IPTables.EnsureRule(iptables.Prepend, j.Table, j.From, j.Args...); err != nil {
				return err
			}
		}
		p.ensured = time.Now()
	}
	p.cfg.Metrics.RulesTotal.WithLabelValues("nat").Set(float64(strings.Count(nat.String(), "\n")))
	p.cfg.Metrics.RulesTotal.WithLabelValues("filter").Set(float64(strings.Count(filter.String(), "\n")))
	return nil
}
