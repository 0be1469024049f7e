package endpoints

import (
	"sort"
	"strconv"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

// Subsets computes the endpoint subsets of svc from the pods its selector matches. Pods
// without an IP, terminating or finished are left out. Pods that resolve the service's
// ports to the same set share a subset; addresses are sorted by IP and subsets by their
// ports, so the same world always gives the same object (and no write).
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []*corev1.EndpointSubset {
	publishNotReady := svc.GetSpec().GetPublishNotReadyAddresses()
	type group struct {
		ports           []*corev1.EndpointPort
		ready, notReady []*corev1.EndpointAddress
	}
	groups := map[string]*group{}
	for _, pod := range pods {
		if !servable(pod) {
			continue
		}
		ports := podPorts(svc, pod)
		if len(ports) == 0 && len(svc.GetSpec().GetPorts()) > 0 {
			continue // no port of the service resolves in this pod
		}
		k := portsKey(ports)
		g := groups[k]
		if g == nil {
			g = &group{ports: ports}
			groups[k] = g
		}
		addr := address(svc, pod)
		if publishNotReady || podReady(pod) {
			g.ready = append(g.ready, addr)
		} else {
			g.notReady = append(g.notReady, addr)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*corev1.EndpointSubset
	for _, k := range keys {
		g := groups[k]
		sortAddresses(g.ready)
		sortAddresses(g.notReady)
		out = append(out, &corev1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return out
}

// servable: the pod has an IP and is neither terminating nor finished.
func servable(pod *corev1.Pod) bool {
	if pod.GetStatus().GetPodIp() == "" || pod.GetMetadata().GetDeletionTimestamp() != nil {
		return false
	}
	phase := pod.GetStatus().GetPhase()
	return phase != "Succeeded" && phase != "Failed"
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func address(svc *corev1.Service, pod *corev1.Pod) *corev1.EndpointAddress {
	m := pod.GetMetadata()
	a := &corev1.EndpointAddress{
		Ip:        pod.GetStatus().GetPodIp(),
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: m.GetNamespace(), Name: m.GetName(), Uid: m.GetUid()},
	}
	if n := pod.GetSpec().GetNodeName(); n != "" {
		a.NodeName = &n
	}
	// A pod with hostname and subdomain = the service's name gets a DNS name (upstream).
	if h := pod.GetSpec().GetHostname(); h != "" && pod.GetSpec().GetSubdomain() == svc.GetMetadata().GetName() &&
		svc.GetMetadata().GetNamespace() == m.GetNamespace() {
		a.Hostname = h
	}
	return a
}

// podPorts resolves every service port against the pod; ports a pod cannot resolve (a
// named targetPort none of its containers declares) are left out for that pod.
func podPorts(svc *corev1.Service, pod *corev1.Pod) []*corev1.EndpointPort {
	var out []*corev1.EndpointPort
	for _, sp := range svc.GetSpec().GetPorts() {
		proto := sp.GetProtocol()
		if proto == "" {
			proto = "TCP"
		}
		port, ok := FindPort(pod, sp.GetTargetPort(), sp.GetPort(), proto)
		if !ok {
			continue
		}
		ep := &corev1.EndpointPort{Name: sp.GetName(), Port: port, Protocol: proto}
		if sp.AppProtocol != nil {
			ap := sp.GetAppProtocol()
			ep.AppProtocol = &ap
		}
		out = append(out, ep)
	}
	return out
}

// FindPort resolves a targetPort in pod: a number is itself (unset: the service port), a
// name is the containerPort of the container port with that name and protocol.
func FindPort(pod *corev1.Pod, target *metav1.IntOrString, servicePort int32, protocol string) (int32, bool) {
	if target == nil {
		return servicePort, true
	}
	if target.GetType() == metav1.IntOrStringInt {
		if target.GetIntVal() == 0 {
			return servicePort, true
		}
		return target.GetIntVal(), true
	}
	name := target.GetStrVal()
	if n, err := strconv.Atoi(name); err == nil {
		return int32(n), true
	}
	for _, c := range pod.GetSpec().GetContainers() {
		for _, p := range c.GetPorts() {
			pp := p.GetProtocol()
			if pp == "" {
				pp = "TCP"
			}
			if p.GetName() == name && pp == protocol {
				return p.GetContainerPort(), true
			}
		}
	}
	return 0, false
}

func portsKey(ports []*corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		b.WriteString(p.GetName())
		b.WriteByte('/')
		b.WriteString(p.GetProtocol())
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(int(p.GetPort())))
		b.WriteByte(';')
	}
	return b.String()
}

func sortAddresses(a []*corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].GetIp() != a[j].GetIp() {
			return a[i].GetIp() < a[j].GetIp()
		}
		return a[i].GetTargetRef().GetName() < a[j].GetTargetRef().GetName()
	})
}
