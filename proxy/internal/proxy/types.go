// Package proxy holds what both proxiers (iptables and userspace) know about Services and
// Endpoints: the service-port and endpoint types, and the change tracker that turns
// informer events into maps keyed by service port, applied in batches by the sync loop.
package proxy

import (
	"fmt"
	"net"
	"strconv"
)

// NamespacedName names a Service or Endpoints object.
type NamespacedName struct{ Namespace, Name string }

func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }

// ServicePortName identifies one port of one Service, as upstream's proxy.ServicePortName.
type ServicePortName struct {
	NamespacedName
	Port     string // the port's name; "" for a single unnamed port
	Protocol string // TCP, UDP or SCTP
}

// String is upstream's "ns/name:port" ("ns/name" for an unnamed port); it appears in rule
// comments, so people reading iptables-save see which Service a rule belongs to.
func (p ServicePortName) String() string {
	if p.Port == "" {
		return p.NamespacedName.String()
	}
	return p.NamespacedName.String() + ":" + p.Port
}

// ServicePort is what a proxier needs of one Service port.
type ServicePort struct {
	Name      ServicePortName
	ClusterIP string
	Port      int32
	NodePort  int32 // 0: none
	// StickySeconds > 0 means sessionAffinity ClientIP with that timeout.
	StickySeconds int32
}

// Protocol is the port's protocol.
func (s *ServicePort) Protocol() string { return s.Name.Protocol }

// Equal reports whether two service ports would be proxied the same way.
func (s *ServicePort) Equal(o *ServicePort) bool { return *s == *o }

// Endpoint is one ready backend address of a service port.
type Endpoint struct {
	IP   string
	Port int32
}

func (e Endpoint) String() string { return net.JoinHostPort(e.IP, strconv.Itoa(int(e.Port))) }

// ServiceMap is every proxied service port.
type ServiceMap map[ServicePortName]*ServicePort

// EndpointsMap is the ready endpoints of every service port that has any, sorted.
type EndpointsMap map[ServicePortName][]Endpoint

// DefaultStickySeconds is upstream's default sessionAffinityConfig.clientIP.timeoutSeconds.
const DefaultStickySeconds = 10800

// MaskString returns a mark value as iptables prints it.
func MaskString(bit int) string { return fmt.Sprintf("%#x", 1<<bit) }
