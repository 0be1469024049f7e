package proxy

import (
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "kube5/proto/api/core/v1"
)

// Tracker collects Service and Endpoints events from the informers' goroutines and hands
// them to the one sync goroutine in batches, as upstream's ServiceChangeTracker and
// EndpointsChangeTracker: handlers only record the latest object per name; Apply folds
// everything recorded since the last call into the maps the sync goroutine owns. The maps
// are updated per object, so a sync at 10k services costs the changes, not the cluster.
type Tracker struct {
	mu           sync.Mutex
	pendingSvc   map[NamespacedName]*corev1.Service // nil: deleted
	pendingEps   map[NamespacedName]*corev1.Endpoints
	firstChanged map[NamespacedName]time.Time
	svcSynced    bool
	epsSynced    bool

	// Owned by the caller of Apply.
	Services  ServiceMap
	Endpoints EndpointsMap
	svcPorts  map[NamespacedName][]ServicePortName
	epsPorts  map[NamespacedName][]ServicePortName
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{
		pendingSvc:   map[NamespacedName]*corev1.Service{},
		pendingEps:   map[NamespacedName]*corev1.Endpoints{},
		firstChanged: map[NamespacedName]time.Time{},
		Services:     ServiceMap{},
		Endpoints:    EndpointsMap{},
		svcPorts:     map[NamespacedName][]ServicePortName{},
		epsPorts:     map[NamespacedName][]ServicePortName{},
	}
}

func nameOf(ns, name string) NamespacedName { return NamespacedName{ns, name} }

func (t *Tracker) touch(n NamespacedName) {
	if _, ok := t.firstChanged[n]; !ok {
		t.firstChanged[n] = time.Now()
	}
}

// ServiceChanged records the latest state of a Service (nil after a delete) and reports
// whether a sync is worth asking for.
func (t *Tracker) ServiceChanged(ns, name string, svc *corev1.Service) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := nameOf(ns, name)
	t.pendingSvc[n] = svc
	t.touch(n)
}

// EndpointsChanged records the latest state of an Endpoints object (nil after a delete).
func (t *Tracker) EndpointsChanged(ns, name string, eps *corev1.Endpoints) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := nameOf(ns, name)
	t.pendingEps[n] = eps
	t.touch(n)
}

// SetSynced marks the services or endpoints informer as having delivered its initial
// list; a proxier does not write rules before both have, or it would reject traffic to
// services whose endpoints it has not heard of yet.
func (t *Tracker) SetSynced(services, endpoints bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.svcSynced = t.svcSynced || services
	t.epsSynced = t.epsSynced || endpoints
}

// Synced reports whether both informers have synced.
func (t *Tracker) Synced() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.svcSynced && t.epsSynced
}

// Pending reports whether changes wait for Apply.
func (t *Tracker) Pending() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.firstChanged) > 0
}

// Apply folds the recorded changes into Services and Endpoints and returns the names
// that changed, with the time each first changed since the last Apply (the start of the
// network-programming latency).
func (t *Tracker) Apply() map[NamespacedName]time.Time {
	t.mu.Lock()
	svcs, eps, changed := t.pendingSvc, t.pendingEps, t.firstChanged
	t.pendingSvc = map[NamespacedName]*corev1.Service{}
	t.pendingEps = map[NamespacedName]*corev1.Endpoints{}
	t.firstChanged = map[NamespacedName]time.Time{}
	t.mu.Unlock()

	for n, svc := range svcs {
		for _, p := range t.svcPorts[n] {
			delete(t.Services, p)
		}
		delete(t.svcPorts, n)
		for _, sp := range ServicePorts(svc) {
			t.Services[sp.Name] = sp
			t.svcPorts[n] = append(t.svcPorts[n], sp.Name)
		}
	}
	for n, e := range eps {
		for _, p := range t.epsPorts[n] {
			delete(t.Endpoints, p)
		}
		delete(t.epsPorts, n)
		for p, list := range EndpointsByPort(e) {
			t.Endpoints[p] = list
			t.epsPorts[n] = append(t.epsPorts[n], p)
		}
	}
	return changed
}

// PortsOf returns the service ports of a Service as of the last Apply.
func (t *Tracker) PortsOf(n NamespacedName) []ServicePortName { return t.svcPorts[n] }

// ServicePorts returns the proxied ports of a Service: none for a nil, headless
// (clusterIP None) or ExternalName Service.
func ServicePorts(svc *corev1.Service) []*ServicePort {
	if svc == nil || svc.Spec == nil || svc.Metadata == nil {
		return nil
	}
	spec := svc.Spec
	if spec.ClusterIp == "" || spec.ClusterIp == "None" || spec.Type == "ExternalName" {
		return nil
	}
	sticky := int32(0)
	if spec.SessionAffinity == "ClientIP" {
		sticky = DefaultStickySeconds
		if c := spec.SessionAffinityConfig; c != nil && c.ClientIp != nil && c.ClientIp.TimeoutSeconds != nil {
			sticky = *c.ClientIp.TimeoutSeconds
		}
	}
	var out []*ServicePort
	for _, p := range spec.Ports {
		proto := strings.ToUpper(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		sp := &ServicePort{
			Name:          ServicePortName{NamespacedName: nameOf(svc.Metadata.Namespace, svc.Metadata.Name), Port: p.Name, Protocol: proto},
			ClusterIP:     spec.ClusterIp,
			Port:          p.Port,
			StickySeconds: sticky,
		}
		if spec.Type == "NodePort" || spec.Type == "LoadBalancer" {
			sp.NodePort = p.NodePort
		}
		out = append(out, sp)
	}
	return out
}

// EndpointsByPort returns the ready addresses of an Endpoints object per service port,
// matched to the Service's ports by port name and protocol as upstream; each list is
// sorted and free of duplicates.
func EndpointsByPort(e *corev1.Endpoints) map[ServicePortName][]Endpoint {
	if e == nil || e.Metadata == nil {
		return nil
	}
	out := map[ServicePortName][]Endpoint{}
	for _, ss := range e.Subsets {
		for _, port := range ss.Ports {
			if port.Port <= 0 {
				continue
			}
			proto := strings.ToUpper(port.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			spn := ServicePortName{NamespacedName: nameOf(e.Metadata.Namespace, e.Metadata.Name), Port: port.Name, Protocol: proto}
			for _, a := range ss.Addresses {
				if a.Ip != "" {
					out[spn] = append(out[spn], Endpoint{IP: a.Ip, Port: port.Port})
				}
			}
		}
	}
	for spn, list := range out {
		slices.SortFunc(list, func(a, b Endpoint) int { return strings.Compare(a.String(), b.String()) })
		out[spn] = slices.Compact(list)
	}
	return out
}
