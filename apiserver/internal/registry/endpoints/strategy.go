// Package endpoints is the strategy of endpoints: port protocol defaulting and
// upstream's validation of subsets, addresses and ports.
package endpoints

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

type strategy struct{ registry.Base }

// Strategy is the endpoints' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var _ registry.Strategy = Strategy

// supportedPortProtocols are sorted as upstream lists them.
var supportedPortProtocols = []string{"SCTP", "TCP", "UDP"}

// Default sets each port's protocol to TCP when unset.
func (strategy) Default(obj scheme.Object) {
	for _, ss := range obj.(*corev1.Endpoints).GetSubsets() {
		for _, p := range ss.GetPorts() {
			if p.Protocol == "" {
				p.Protocol = "TCP"
			}
		}
	}
}

// Validate checks new endpoints.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateEndpoints(obj.(*corev1.Endpoints))
}

// ValidateUpdate checks an update; nothing but metadata is immutable.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	ep, oldEp := obj.(*corev1.Endpoints), old.(*corev1.Endpoints)
	errs := validation.ValidateObjectMetaUpdate(ep.GetMetadata(), oldEp.GetMetadata(), field.NewPath("metadata"))
	return append(errs, validateEndpoints(ep)...)
}

func validateEndpoints(ep *corev1.Endpoints) field.ErrorList {
	errs := validation.ValidateObjectMeta(ep.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	path := field.NewPath("subsets")
	for i, ss := range ep.GetSubsets() {
		p := path.Index(i)
		// A headless service's endpoints may lack ports, never addresses.
		if len(ss.GetAddresses()) == 0 && len(ss.GetNotReadyAddresses()) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.GetAddresses() {
			errs = append(errs, validateAddress(a, p.Child("addresses").Index(j))...)
		}
		for j, a := range ss.GetNotReadyAddresses() {
			errs = append(errs, validateAddress(a, p.Child("notReadyAddresses").Index(j))...)
		}
		for j, port := range ss.GetPorts() {
			errs = append(errs, validatePort(port, len(ss.GetPorts()) > 1, p.Child("ports").Index(j))...)
		}
	}
	return errs
}

func validateAddress(a *corev1.EndpointAddress, path *field.Path) field.ErrorList {
	errs := validation.IsValidIP(path.Child("ip"), a.GetIp())
	if a.GetHostname() != "" {
		errs = append(errs, validation.ValidateDNS1123Label(a.GetHostname(), path.Child("hostname"))...)
	}
	if a.NodeName != nil {
		for _, msg := range validation.NameIsDNSSubdomain(*a.NodeName, false) {
			errs = append(errs, field.Invalid(path.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return append(errs, validation.ValidateNonSpecialIP(a.GetIp(), path.Child("ip"))...)
}

func validatePort(port *corev1.EndpointPort, requireName bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && port.GetName() == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if port.GetName() != "" {
		errs = append(errs, validation.ValidateDNS1123Label(port.GetName(), path.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.GetPort())) {
		errs = append(errs, field.Invalid(path.Child("port"), port.GetPort(), msg))
	}
	switch port.GetProtocol() {
	case "":
		errs = append(errs, field.Required(path.Child("protocol"), ""))
	case "TCP", "UDP", "SCTP":
	default:
		errs = append(errs, field.NotSupported(path.Child("protocol"), port.GetProtocol(), supportedPortProtocols))
	}
	if port.AppProtocol != nil {
		errs = append(errs, validation.ValidateQualifiedName(*port.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}
