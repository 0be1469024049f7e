package service

import (
	"fmt"
	"strings"

	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
)

// Sorted as upstream's sets.List prints them.
var (
	supportedTypes            = []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}
	supportedSessionAffinity  = []string{"ClientIP", "None"}
	supportedPortProtocols    = []string{"SCTP", "TCP", "UDP"}
	supportedTrafficPolicies  = []string{"Cluster", "Local"}
	supportedIPFamilies       = []string{"IPv4", "IPv6"}
	supportedIPFamilyPolicies = []string{"PreferDualStack", "RequireDualStack", "SingleStack"}
)

// portKey prints a duplicate port as upstream's error does (its core.ServicePort key).
type portKey struct {
	protocol string
	port     int32
}

func (k portKey) String() string {
	return fmt.Sprintf(`core.ServicePort{Name:"", Protocol:%q, AppProtocol:(*string)(nil), Port:%d, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`, k.protocol, k.port)
}

// validateService is upstream's ValidateService for the fields kube5 has.
func validateService(svc *corev1.Service) field.ErrorList {
	metaPath, specPath := field.NewPath("metadata"), field.NewPath("spec")
	errs := validation.ValidateObjectMeta(svc.GetMetadata(), true, validation.NameIsDNS1035Label, metaPath)
	spec := svc.GetSpec()
	if spec == nil {
		spec = &corev1.ServiceSpec{}
	}
	if len(spec.GetPorts()) == 0 && !isHeadless(svc) && spec.GetType() != TypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	switch spec.GetType() {
	case TypeLoadBalancer:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.GetClusterIps()[0], "may not be set to 'None' for LoadBalancer services"))
		}
	case TypeNodePort:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.GetClusterIps()[0], "may not be set to 'None' for NodePort services"))
		}
	case TypeExternalName:
		if len(spec.GetClusterIps()) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.GetIpFamilies()) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IpFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// The CNAME may end in a dot to mark it fully qualified.
		if cname := strings.TrimSuffix(spec.GetExternalName(), "."); cname != "" {
			errs = append(errs, validation.ValidateDNS1123Subdomain(cname, specPath.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	}

	names := map[string]bool{}
	for i, p := range spec.GetPorts() {
		errs = append(errs, validateServicePort(p, len(spec.GetPorts()) > 1, names, specPath.Child("ports").Index(i))...)
	}
	if spec.Selector != nil {
		errs = append(errs, validation.ValidateLabels(spec.GetSelector(), specPath.Child("selector"))...)
	}

	switch {
	case spec.GetSessionAffinity() == "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	case !contains(supportedSessionAffinity, spec.GetSessionAffinity()):
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), spec.GetSessionAffinity(), supportedSessionAffinity))
	}
	cfgPath := specPath.Child("sessionAffinityConfig")
	switch spec.GetSessionAffinity() {
	case "ClientIP":
		const when = "when session affinity type is ClientIP"
		cfg := spec.GetSessionAffinityConfig()
		switch {
		case cfg == nil:
			errs = append(errs, field.Required(cfgPath, when))
		case cfg.GetClientIp() == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP"), when))
		case cfg.GetClientIp().TimeoutSeconds == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP").Child("timeoutSeconds"), when))
		default:
			if t := *cfg.GetClientIp().TimeoutSeconds; t <= 0 || t > MaxClientIPServiceAffinitySeconds {
				errs = append(errs, field.Invalid(cfgPath.Child("clientIP").Child("timeoutSeconds"), t,
					fmt.Sprintf("must be greater than 0 and less than %d", MaxClientIPServiceAffinitySeconds)))
			}
		}
	case "None":
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(cfgPath, "must not be set when session affinity is None"))
		}
	}

	errs = append(errs, validateClusterIPsRelatedFields(svc)...)

	for i, ip := range spec.GetExternalIps() {
		p := specPath.Child("externalIPs").Index(i)
		if e := validation.IsValidIP(p, ip); len(e) != 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, validation.ValidateNonSpecialIP(ip, p)...)
		}
	}

	switch {
	case spec.GetType() == "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	case !contains(supportedTypes, spec.GetType()):
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.GetType(), supportedTypes))
	}
	if t := spec.GetType(); t == TypeClusterIP || t == TypeExternalName {
		// Upstream forbids node ports for ClusterIP only; ExternalName services have
		// nothing to forward a node port to either.
		for i, p := range spec.GetPorts() {
			if p.GetNodePort() != 0 {
				errs = append(errs, field.Forbidden(specPath.Child("ports").Index(i).Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", t)))
			}
		}
	}
	nodePorts := map[portKey]bool{}
	ports := map[portKey]bool{}
	for i, p := range spec.GetPorts() {
		pp := specPath.Child("ports").Index(i)
		if p.GetNodePort() != 0 {
			k := portKey{p.GetProtocol(), p.GetNodePort()}
			if nodePorts[k] {
				errs = append(errs, field.Duplicate(pp.Child("nodePort"), p.GetNodePort()))
			}
			nodePorts[k] = true
		}
		k := portKey{p.GetProtocol(), p.GetPort()}
		if ports[k] {
			errs = append(errs, field.Duplicate(pp, k))
		}
		ports[k] = true
	}

	etp := specPath.Child("externalTrafficPolicy")
	if !externallyAccessible(svc) {
		if spec.GetExternalTrafficPolicy() != "" {
			errs = append(errs, field.Invalid(etp, spec.GetExternalTrafficPolicy(), "may only be set for externally-accessible services"))
		}
	} else if spec.GetExternalTrafficPolicy() == "" {
		errs = append(errs, field.Required(etp, ""))
	} else if !contains(supportedTrafficPolicies, spec.GetExternalTrafficPolicy()) {
		errs = append(errs, field.NotSupported(etp, spec.GetExternalTrafficPolicy(), supportedTrafficPolicies))
	}
	itp := specPath.Child("internalTrafficPolicy")
	if spec.InternalTrafficPolicy == nil {
		if t := spec.GetType(); t == TypeNodePort || t == TypeLoadBalancer || t == TypeClusterIP {
			errs = append(errs, field.Required(itp, ""))
		}
	} else if !contains(supportedTrafficPolicies, *spec.InternalTrafficPolicy) {
		errs = append(errs, field.NotSupported(itp, *spec.InternalTrafficPolicy, supportedTrafficPolicies))
	}
	return errs
}

func validateServicePort(sp *corev1.ServicePort, requireName bool, names map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && sp.GetName() == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if sp.GetName() != "" {
		errs = append(errs, validation.ValidateDNS1123Label(sp.GetName(), path.Child("name"))...)
		if names[sp.GetName()] {
			errs = append(errs, field.Duplicate(path.Child("name"), sp.GetName()))
		} else {
			names[sp.GetName()] = true
		}
	}
	for _, msg := range validation.IsValidPortNum(int(sp.GetPort())) {
		errs = append(errs, field.Invalid(path.Child("port"), sp.GetPort(), msg))
	}
	switch {
	case sp.GetProtocol() == "":
		errs = append(errs, field.Required(path.Child("protocol"), ""))
	case !contains(supportedPortProtocols, sp.GetProtocol()):
		errs = append(errs, field.NotSupported(path.Child("protocol"), sp.GetProtocol(), supportedPortProtocols))
	}
	errs = append(errs, validation.ValidatePortNumOrName(sp.GetTargetPort(), path.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		errs = append(errs, validation.ValidateQualifiedName(*sp.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}

// validateClusterIPsRelatedFields checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy together, as upstream.
func validateClusterIPsRelatedFields(svc *corev1.Service) field.ErrorList {
	spec := svc.GetSpec()
	if spec.GetType() == TypeExternalName {
		return nil
	}
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	ipsPath, famPath := specPath.Child("clusterIPs"), specPath.Child("ipFamilies")
	ips := spec.GetClusterIps()
	if spec.GetClusterIp() != "" {
		if len(ips) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if ips[0] != spec.GetClusterIp() {
			errs = append(errs, field.Invalid(ipsPath, ips, "first value must match `clusterIP`"))
		}
	} else if len(ips) != 0 {
		errs = append(errs, field.Invalid(ipsPath, ips, "must be empty when `clusterIP` is not specified"))
	}
	seen := map[string]bool{}
	for i, f := range spec.GetIpFamilies() {
		if !contains(supportedIPFamilies, f) {
			errs = append(errs, field.NotSupported(famPath.Index(i), f, supportedIPFamilies))
		}
		if seen[f] {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IpFamilyPolicy; p != nil && !contains(supportedIPFamilyPolicies, *p) {
		errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *p, supportedIPFamilyPolicies))
	}
	invalid := false
	for i, ip := range ips {
		if i == 0 && ip == ClusterIPNone {
			if len(ips) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, ips, "'None' must be the first and only value"))
			}
			continue
		}
		e := validation.IsValidIP(ipsPath.Index(i), ip)
		invalid = invalid || len(e) != 0
		errs = append(errs, e...)
	}
	if len(ips) > 2 {
		errs = append(errs, field.Invalid(ipsPath, ips, "may only hold up to 2 values"))
	}
	if invalid {
		return errs
	}
	if len(ips) > 1 && !validation.IsDualStack(ips, false) {
		errs = append(errs, field.Invalid(ipsPath, ips, "may specify no more than one IP for each IP family"))
	}
	if !isHeadless(svc) {
		fams := spec.GetIpFamilies()
		for i, ip := range ips {
			if i >= len(fams) {
				break
			}
			if fams[i] == "IPv4" && validation.IsIPv6String(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if fams[i] == "IPv6" && !validation.IsIPv6String(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// validateUpgradeDowngradeClusterIPs: the primary cluster IP never changes once set; a
// secondary may be added or (with SingleStack) released.
func validateUpgradeDowngradeClusterIPs(oldSvc, svc *corev1.Service) field.ErrorList {
	if svc.GetSpec().GetType() == TypeExternalName || oldSvc.GetSpec().GetType() == TypeExternalName {
		return nil
	}
	if isHeadless(oldSvc) && isHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "clusterIPs")
	oldIPs, newIPs := oldSvc.GetSpec().GetClusterIps(), svc.GetSpec().GetClusterIps()
	switch {
	case len(oldIPs) == len(newIPs):
		for i, ip := range oldIPs {
			if ip != newIPs[i] {
				errs = append(errs, field.Invalid(p.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(p.Index(0), newIPs, "primary clusterIP can not be unset"))
		}
		if len(oldIPs) > 0 && len(newIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(p.Index(0), newIPs, "may not change once set"))
		}
		if len(newIPs) == 1 && svc.GetSpec().GetIpFamilyPolicy() != "SingleStack" {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.GetSpec().IpFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(p.Index(0), newIPs, "may not change once set"))
		}
	}
	return errs
}

// validateUpgradeDowngradeIPFamilies: the primary family never changes once set.
func validateUpgradeDowngradeIPFamilies(oldSvc, svc *corev1.Service) field.ErrorList {
	if svc.GetSpec().GetType() == TypeExternalName || oldSvc.GetSpec().GetType() == TypeExternalName {
		return nil
	}
	if isHeadless(oldSvc) != isHeadless(svc) || isHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "ipFamilies")
	oldF, newF := oldSvc.GetSpec().GetIpFamilies(), svc.GetSpec().GetIpFamilies()
	switch {
	case len(oldF) == len(newF):
		for i, f := range oldF {
			if f != newF[i] {
				errs = append(errs, field.Invalid(p.Index(0), newF, "may not change once set"))
			}
		}
	case len(oldF) > len(newF):
		if len(svc.GetSpec().GetClusterIps()) == 0 {
			errs = append(errs, field.Invalid(p.Index(0), newF, "primary ipFamily can not be unset"))
		}
		if len(newF) > 0 && newF[0] != oldF[0] {
			errs = append(errs, field.Invalid(p.Index(0), svc.GetSpec().GetClusterIps(), "may not change once set"))
		}
		if len(newF) == 1 && svc.GetSpec().GetIpFamilyPolicy() != "SingleStack" {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.GetSpec().IpFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldF) > 0 && len(newF) > 0 && newF[0] != oldF[0] {
			errs = append(errs, field.Invalid(p.Index(0), svc.GetSpec().GetClusterIps(), "may not change once set"))
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
