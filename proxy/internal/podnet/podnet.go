// Package podnet is the node side of the pod network (design.md §6): host-gw routes to
// every other node's podCIDR through that node's InternalIP, masquerade of pod traffic
// leaving the cluster CIDR, forwarding of pod traffic past Docker's FORWARD policy, and
// the service-CIDR guard route.
//
// kube-proxy owns this rather than the kubelet: it already watches every Node (the
// kubelet watches only its own), it already owns the nat table and the KUBE-* chains
// that must be ordered with these rules, and a node with a kube-proxy but no pods still
// needs to reach pods elsewhere (NodePorts, ClusterIPs whose endpoints are remote).
package podnet

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proxy/internal/iptables"
)

// RouteProto tags our routes (ip route ... proto 200) so a restarted kube-proxy finds
// and reconciles the routes an earlier one added, and never touches anyone else's.
const RouteProto = "200"

// Chains of the pod network.
const (
	PodMasq    iptables.Chain = "KUBE-POD-MASQ"
	PodForward iptables.Chain = "KUBE-POD-FORWARD"
)

// JumpRules lead to the pod network chains.
var JumpRules = []struct {
	Table iptables.Table
	From  iptables.Chain
	Args  []string
}{
	{iptables.TableNAT, iptables.ChainPostrouting, []string{"-m", "comment", "--comment", "kube5 pod network masquerade", "-j", string(PodMasq)}},
	{iptables.TableFilter, iptables.ChainForward, []string{"-m", "comment", "--comment", "kube5 pod network forwarding", "-j", string(PodForward)}},
}

// Config configures the pod network.
type Config struct {
	// Exec runs the ip command (iptables.HostExec, or one entering a test namespace).
	Exec     iptables.Exec
	IPTables iptables.Interface
	// NodeName is this node (--hostname-override); its own podCIDR gets no route.
	NodeName    string
	ClusterCIDR string // --cluster-cidr; "" disables masquerade and forward rules
}

// Routes keeps host-gw routes in step with the Nodes.
type Routes struct {
	cfg   Config
	mu    sync.Mutex
	nodes map[string]route // node name -> its route
}

type route struct{ cidr, via string }

// NewRoutes returns the route keeper.
func NewRoutes(cfg Config) *Routes { return &Routes{cfg: cfg, nodes: map[string]route{}} }

// NodeChanged records a Node (nil: deleted).
func (r *Routes) NodeChanged(name string, n *corev1.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, ok := routeFor(n)
	if !ok || name == r.cfg.NodeName {
		delete(r.nodes, name)
		return
	}
	r.nodes[name] = rt
}

func routeFor(n *corev1.Node) (route, bool) {
	if n == nil || n.Spec == nil || n.Status == nil || n.Spec.PodCidr == "" {
		return route{}, false
	}
	pfx, err := netip.ParsePrefix(n.Spec.PodCidr)
	if err != nil || !pfx.Addr().Is4() {
		return route{}, false
	}
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
				return route{cidr: pfx.Masked().String(), via: ip.String()}, true
			}
		}
	}
	return route{}, false
}

func (r *Routes) ip(ctx context.Context, args ...string) ([]byte, error) {
	out, err := r.cfg.Exec(ctx, "ip", args, nil)
	if err != nil {
		return out, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Sync makes the routes tagged RouteProto equal the wanted ones.
func (r *Routes) Sync(ctx context.Context) error {
	r.mu.Lock()
	want := map[string]string{}
	for _, rt := range r.nodes {
		want[rt.cidr] = rt.via
	}
	r.mu.Unlock()
	have, err := listRoutes(ctx, r.cfg.Exec)
	if err != nil {
		return err
	}
	var errs []string
	for cidr, via := range have {
		if want[cidr] != via {
			klog.V(2).InfoS("Removing pod network route", "podCIDR", cidr, "via", via)
			if _, err := r.ip(ctx, "route", "del", cidr, "proto", RouteProto); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	cidrs := make([]string, 0, len(want))
	for c := range want {
		cidrs = append(cidrs, c)
	}
	slices.Sort(cidrs)
	for _, cidr := range cidrs {
		if have[cidr] == want[cidr] {
			continue
		}
		klog.V(2).InfoS("Adding pod network route", "podCIDR", cidr, "via", want[cidr])
		if _, err := r.ip(ctx, "route", "replace", cidr, "via", want[cidr], "proto", RouteProto); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("pod network routes: %s", strings.Join(errs, "; "))
	}
	return nil
}

// listRoutes returns our routes: podCIDR -> gateway.
func listRoutes(ctx context.Context, exec iptables.Exec) (map[string]string, error) {
	out, err := exec(ctx, "ip", []string{"-4", "route", "show", "proto", RouteProto}, nil)
	if err != nil {
		return nil, fmt.Errorf("ip route show: %v: %s", err, bytes.TrimSpace(out))
	}
	have := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "via" {
			have[f[0]] = f[2]
		} else if len(f) >= 1 {
			have[f[0]] = ""
		}
	}
	return have, nil
}

// EnsureRules writes the masquerade and forward chains and the jumps to them.
func EnsureRules(cfg Config) error {
	if cfg.ClusterCIDR == "" || cfg.IPTables == nil {
		return nil
	}
	c := cfg.ClusterCIDR
	in := fmt.Sprintf(`*nat
:%[1]s - [0:0]
-A %[1]s -d %[3]s -m comment --comment "pod to pod: no masquerade" -j RETURN
-A %[1]s -d 224.0.0.0/4 -j RETURN
-A %[1]s -s %[3]s -m comment --comment "pod traffic leaving the cluster CIDR" -j MASQUERADE
COMMIT
*filter
:%[2]s - [0:0]
-A %[2]s -s %[3]s -m comment --comment "pod network" -j ACCEPT
-A %[2]s -d %[3]s -m comment --comment "pod network" -j ACCEPT
COMMIT
`, PodMasq, PodForward, c)
	if err := cfg.IPTables.Restore([]byte(in)); err != nil {
		return err
	}
	for _, j := range JumpRules {
		if _, err := cfg.IPTables.EnsureRule(iptables.Prepend, j.Table, j.From, j.Args...); err != nil {
			return err
		}
	}
	return nil
}

// EnsureServiceGuard routes the service CIDR to bridge, a bridge with no ports, so a
// packet to a ClusterIP without a rule (yet) dies on this host instead of following the
// default route out; it also gives locally originated connections to a ClusterIP a route,
// which the nat OUTPUT DNAT needs to see them.
func EnsureServiceGuard(ctx context.Context, exec iptables.Exec, bridge, serviceCIDR string) error {
	run := func(args ...string) ([]byte, error) {
		out, err := exec(ctx, "ip", args, nil)
		if err != nil {
			return out, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return out, nil
	}
	if _, err := run("link", "show", "dev", bridge); err != nil {
		if _, err := run("link", "add", bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if _, err := run("link", "set", bridge, "up"); err != nil {
		return err
	}
	_, err := run("route", "replace", serviceCIDR, "dev", bridge)
	return err
}

// Cleanup removes our routes and the guard bridge (its route goes with it).
func Cleanup(ctx context.Context, exec iptables.Exec, bridge string) error {
	have, err := listRoutes(ctx, exec)
	if err != nil {
		return err
	}
	var errs []string
	for cidr := range have {
		if out, err := exec(ctx, "ip", []string{"route", "del", cidr, "proto", RouteProto}, nil); err != nil {
			errs = append(errs, fmt.Sprintf("ip route del %s: %v: %s", cidr, err, bytes.TrimSpace(out)))
		}
	}
	if _, err := exec(ctx, "ip", []string{"link", "show", "dev", bridge}, nil); err == nil {
		if out, err := exec(ctx, "ip", []string{"link", "del", bridge}, nil); err != nil {
			errs = append(errs, fmt.Sprintf("ip link del %s: %v: %s", bridge, err, bytes.TrimSpace(out)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
