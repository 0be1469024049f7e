// Package service is the strategy of services: upstream's defaults, validation, the
// clusterIP/clusterIPs and type-dependent field handling of upstream's service registry
// (normalizing, keeping allocated values on update, dropping fields a new type does not
// use), and the status subresource. IP and node port allocation is not here: the
// resource table's Create and Update hooks do it.
package service

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

// Service types, policies and families.
const (
	TypeClusterIP    = "ClusterIP"
	TypeNodePort     = "NodePort"
	TypeLoadBalancer = "LoadBalancer"
	TypeExternalName = "ExternalName"
	ClusterIPNone    = "None"

	// DefaultClientIPServiceAffinitySeconds is 3 hours, upstream's default.
	DefaultClientIPServiceAffinitySeconds = 10800
	// MaxClientIPServiceAffinitySeconds is a day.
	MaxClientIPServiceAffinitySeconds = 86400
)

type strategy struct{ registry.Base }

// Strategy is the services' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// Default applies SetDefaults_Service, plus the single-stack IPv4 family and policy that
// upstream's allocator records for every service that gets a cluster IP.
func (strategy) Default(obj scheme.Object) {
	svc := obj.(*corev1.Service)
	if svc.Spec == nil {
		svc.Spec = &corev1.ServiceSpec{}
	}
	spec := svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = "None"
	}
	switch spec.SessionAffinity {
	case "None":
		spec.SessionAffinityConfig = nil
	case "ClientIP":
		if c := spec.GetSessionAffinityConfig().GetClientIp(); c == nil || c.TimeoutSeconds == nil {
			t := int32(DefaultClientIPServiceAffinitySeconds)
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: &t}}
		}
	}
	if spec.Type == "" {
		spec.Type = TypeClusterIP
	}
	for _, p := range spec.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		if tp := p.TargetPort; tp == nil ||
			(tp.Type == metav1.IntOrStringInt && tp.IntVal == 0) || (tp.Type == metav1.IntOrStringString && tp.StrVal == "") {
			p.TargetPort = metav1.FromInt(p.Port)
		}
	}
	if externallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = "Cluster"
	}
	if spec.InternalTrafficPolicy == nil && (spec.Type == TypeNodePort || spec.Type == TypeLoadBalancer || spec.Type == TypeClusterIP) {
		p := "Cluster"
		spec.InternalTrafficPolicy = &p
	}
	if spec.Type != TypeExternalName {
		if spec.ClusterIp != "" && len(spec.ClusterIps) == 0 {
			spec.ClusterIps = []string{spec.ClusterIp}
		}
		if len(spec.IpFamilies) == 0 {
			family := "IPv4"
			if validation.IsIPv6String(spec.ClusterIp) {
				family = "IPv6"
			}
			spec.IpFamilies = []string{family}
		}
		if spec.IpFamilyPolicy == nil {
			p := "SingleStack"
			spec.IpFamilyPolicy = &p
		}
	}
}

// PrepareForCreate clears the status and pairs clusterIP with clusterIPs.
func (strategy) PrepareForCreate(obj scheme.Object) {
	svc := obj.(*corev1.Service)
	svc.Status = &corev1.ServiceStatus{}
	if spec := svc.GetSpec(); spec != nil && spec.ClusterIp != "" && len(spec.ClusterIps) == 0 {
		spec.ClusterIps = []string{spec.ClusterIp}
	}
}

// PrepareForUpdate does what upstream's service registry does before validating an
// update: keeps the pairing of clusterIP and clusterIPs, drops fields the new type does
// not use (when the user left them as they were), and copies the allocated cluster IP and
// node ports from the old service when the update omits them, so that re-applying a
// manifest without them is not a change.
func (strategy) PrepareForUpdate(obj, old scheme.Object) {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	if svc.Spec == nil {
		svc.Spec = &corev1.ServiceSpec{}
	}
	normalizeClusterIPs(svc, oldSvc)
	dropTypeDependentFields(svc, oldSvc)
	patchAllocatedValues(svc, oldSvc)
}

func normalizeClusterIPs(svc, oldSvc *corev1.Service) {
	spec, oldSpec := svc.Spec, oldSvc.GetSpec()
	if len(oldSpec.GetClusterIps()) > 0 && spec.ClusterIp != oldSpec.GetClusterIp() &&
		validation.Equal(spec.ClusterIps, oldSpec.GetClusterIps()) {
		// The user changed the singular only (an old client): the plural follows.
		if spec.ClusterIp == "" {
			spec.ClusterIps = nil
		} else {
			spec.ClusterIps = []string{spec.ClusterIp}
		}
	}
	if spec.ClusterIp != "" && len(spec.ClusterIps) == 0 {
		spec.ClusterIps = []string{spec.ClusterIp}
	}
}

func dropTypeDependentFields(svc, oldSvc *corev1.Service) {
	spec, oldSpec := svc.Spec, oldSvc.GetSpec()
	if needsClusterIP(oldSvc) && !needsClusterIP(svc) {
		if spec.ClusterIp == oldSpec.GetClusterIp() && validation.Equal(spec.ClusterIps, oldSpec.GetClusterIps()) {
			spec.ClusterIp, spec.ClusterIps = "", nil
		}
		if validation.Equal(spec.IpFamilies, oldSpec.GetIpFamilies()) {
			spec.IpFamilies = nil
		}
		if spec.GetIpFamilyPolicy() == oldSpec.GetIpFamilyPolicy() {
			spec.IpFamilyPolicy = nil
		}
	}
	if needsNodePort(oldSvc) && !needsNodePort(svc) && sameNodePorts(svc, oldSvc) {
		for _, p := range spec.Ports {
			p.NodePort = 0
		}
	}
	if externallyAccessible(oldSvc) && !externallyAccessible(svc) && spec.ExternalTrafficPolicy == oldSpec.GetExternalTrafficPolicy() {
		spec.ExternalTrafficPolicy = ""
	}
	if spec.Type != TypeLoadBalancer && svc.Status != nil {
		svc.Status.LoadBalancer = nil
	}
}

func patchAllocatedValues(svc, oldSvc *corev1.Service) {
	spec, oldSpec := svc.Spec, oldSvc.GetSpec()
	if needsClusterIP(oldSvc) && needsClusterIP(svc) {
		if spec.ClusterIp == "" {
			spec.ClusterIp = oldSpec.GetClusterIp()
		}
		if len(spec.ClusterIps) == 0 && len(oldSpec.GetClusterIps()) > 0 {
			spec.ClusterIps = append([]string(nil), oldSpec.GetClusterIps()...)
		}
	}
	if needsNodePort(oldSvc) && needsNodePort(svc) {
		used := map[int32]bool{}
		inNew := map[int32]bool{}
		for _, p := range spec.Ports {
			inNew[p.NodePort] = true
		}
		byName := map[string]int32{}
		for _, p := range oldSpec.GetPorts() {
			if p.GetNodePort() != 0 && inNew[p.GetNodePort()] {
				used[p.GetNodePort()] = true
			}
			byName[p.GetName()] = p.GetNodePort()
		}
		for _, p := range spec.Ports {
			if p.NodePort == 0 {
				if v := byName[p.Name]; !used[v] {
					p.NodePort = v
				}
			}
		}
	}
}

func sameNodePorts(svc, oldSvc *corev1.Service) bool {
	a, b := svc.GetSpec().GetPorts(), oldSvc.GetSpec().GetPorts()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GetNodePort() != b[i].GetNodePort() {
			return false
		}
	}
	return true
}

func needsClusterIP(svc *corev1.Service) bool { return svc.GetSpec().GetType() != TypeExternalName }

func needsNodePort(svc *corev1.Service) bool {
	t := svc.GetSpec().GetType()
	return t == TypeNodePort || t == TypeLoadBalancer
}

// externallyAccessible: reachable from outside the cluster, where externalTrafficPolicy
// means something.
func externallyAccessible(svc *corev1.Service) bool {
	t := svc.GetSpec().GetType()
	return t == TypeLoadBalancer || t == TypeNodePort || (t == TypeClusterIP && len(svc.GetSpec().GetExternalIps()) > 0)
}

func isHeadless(svc *corev1.Service) bool {
	ips := svc.GetSpec().GetClusterIps()
	return len(ips) == 1 && ips[0] == ClusterIPNone
}

// Validate checks a new service.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateService(obj.(*corev1.Service))
}

// ValidateUpdate checks an update: cluster IPs and IP families may not change once set,
// except when the type changes to or from ExternalName.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	errs := validation.ValidateObjectMetaUpdate(svc.GetMetadata(), oldSvc.GetMetadata(), field.NewPath("metadata"))
	errs = append(errs, validateUpgradeDowngradeClusterIPs(oldSvc, svc)...)
	errs = append(errs, validateUpgradeDowngradeIPFamilies(oldSvc, svc)...)
	return append(errs, validateService(svc)...)
}

// PrepareForStatusUpdate has nothing to add to the generic store's handling.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {}

// ValidateStatusUpdate checks the load balancer status.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	errs := validation.ValidateObjectMetaUpdate(svc.GetMetadata(), oldSvc.GetMetadata(), field.NewPath("metadata"))
	ingPath := field.NewPath("status", "loadBalancer", "ingress")
	ingress := svc.GetStatus().GetLoadBalancer().GetIngress()
	if svc.GetSpec().GetType() != TypeLoadBalancer && len(ingress) != 0 {
		return append(errs, field.Forbidden(ingPath, "may only be used when `spec.type` is 'LoadBalancer'"))
	}
	for i, ing := range ingress {
		p := ingPath.Index(i)
		if ing.GetIp() != "" {
			errs = append(errs, validation.IsValidIP(p.Child("ip"), ing.GetIp())...)
		}
		if h := ing.GetHostname(); h != "" {
			errs = append(errs, validation.ValidateDNS1123Subdomain(h, p.Child("hostname"))...)
			if validation.ParseIP(h) != nil {
				errs = append(errs, field.Invalid(p.Child("hostname"), h, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// Fields adds spec.clusterIP and spec.type (kube-proxy selects on them) to the
// metadata fields.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	svc := obj.(*corev1.Service)
	set := s.Base.Fields(obj)
	set["spec.clusterIP"] = svc.GetSpec().GetClusterIp()
	set["spec.type"] = svc.GetSpec().GetType()
	return set
}
