package validation

import (
	"fmt"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

// Resource names with a meaning of their own.
const (
	ResourceCPU              = "cpu"
	ResourceMemory           = "memory"
	ResourceEphemeralStorage = "ephemeral-storage"
	hugePagesPrefix          = "hugepages-"
	nativeResourcePrefix     = "kubernetes.io/"
	requestsPrefix           = "requests."
)

// isHugePageResourceName reports hugepages-<size>: they cannot be overcommitted.
func isHugePageResourceName(name string) bool { return strings.HasPrefix(name, hugePagesPrefix) }

// isNativeResource reports names without a domain or in kubernetes.io.
func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, nativeResourcePrefix)
}

// isExtendedResourceName reports a device-plugin style resource ("example.com/gpu"):
// domain-qualified outside kubernetes.io, and not usable with a "requests." prefix.
func isExtendedResourceName(name string) bool {
	if isNativeResource(name) || strings.HasPrefix(name, requestsPrefix) {
		return false
	}
	return len(IsQualifiedName(requestsPrefix+name)) == 0
}

// isStandardContainerResourceName reports the resources a container may name unqualified.
func isStandardContainerResourceName(name string) bool {
	return name == ResourceCPU || name == ResourceMemory || name == ResourceEphemeralStorage || isHugePageResourceName(name)
}

// isOvercommitAllowed: requests may be below limits only for resources that can be
// shared; hugepages and extended resources are all-or-nothing.
func isOvercommitAllowed(name string) bool {
	return isNativeResource(name) && !isHugePageResourceName(name)
}

// isIntegerResourceName: extended resources come in whole units.
func isIntegerResourceName(name string) bool { return isExtendedResourceName(name) }

// validateContainerResourceName checks a key of resources.limits or resources.requests.
func validateContainerResourceName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range IsQualifiedName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") {
		if !isStandardContainerResourceName(name) {
			return append(errs, field.Invalid(path, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(name) && !isExtendedResourceName(name) {
		return append(errs, field.Invalid(path, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// ParseQuantityField parses a quantity held in an API object. Upstream rejects a bad
// quantity while decoding; here the string reaches validation, so the parse error is
// reported at the field.
func ParseQuantityField(q *metav1.Quantity, path *field.Path) (*metav1.Quantity, field.ErrorList) {
	s := q.GetString_()
	if s == "" {
		s = "0"
	}
	parsed, err := metav1.ParseQuantity(s)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(path, s, err.Error())}
	}
	return parsed, nil
}

// ValidateResourceQuantityValue checks a quantity is valid, not negative, and whole for
// integer resources.
func ValidateResourceQuantityValue(name string, q *metav1.Quantity, path *field.Path) field.ErrorList {
	parsed, errs := ParseQuantityField(q, path)
	if len(errs) > 0 {
		return errs
	}
	if parsed.Cmp(&metav1.Quantity{}) < 0 {
		return field.ErrorList{field.Invalid(path, parsed.AsString(), IsNegativeErrorMsg)}
	}
	if isIntegerResourceName(name) && parsed.MilliValue()%1000 != 0 {
		return field.ErrorList{field.Invalid(path, parsed.AsString(), "must be an integer")}
	}
	return nil
}

// ValidateResourceRequirements checks a container's resources: names, quantities, and
// requests <= limits (== for resources that cannot be overcommitted).
func ValidateResourceRequirements(req *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := path.Child("limits"), path.Child("requests")
	limCPUOrMem, reqCPUOrMem, limHuge, reqHuge := false, false, false, false
	limits := req.GetLimits()
	for _, name := range sortedKeys(limits) {
		p := limPath.Key(name)
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, ValidateResourceQuantityValue(name, limits[name], p)...)
		limHuge = limHuge || isHugePageResourceName(name)
		limCPUOrMem = limCPUOrMem || name == ResourceCPU || name == ResourceMemory
	}
	requests := req.GetRequests()
	for _, name := range sortedKeys(requests) {
		p := reqPath.Key(name)
		errs = append(errs, validateContainerResourceName(name, p)...)
		qerrs := ValidateResourceQuantityValue(name, requests[name], p)
		errs = append(errs, qerrs...)
		reqHuge = reqHuge || isHugePageResourceName(name)
		reqCPUOrMem = reqCPUOrMem || name == ResourceCPU || name == ResourceMemory
		if len(qerrs) > 0 {
			continue
		}
		q, _ := metav1.ParseQuantity(requests[name].AsString())
		if limit, ok := limits[name]; ok {
			l, err := metav1.ParseQuantity(limit.AsString())
			if err != nil {
				continue // reported with the limits
			}
			switch {
			case q.Cmp(l) != 0 && !isOvercommitAllowed(name):
				errs = append(errs, field.Invalid(reqPath, q.AsString(), fmt.Sprintf("must be equal to %s limit of %s", name, l.AsString())))
			case q.Cmp(l) > 0:
				errs = append(errs, field.Invalid(reqPath, q.AsString(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, l.AsString())))
			}
		} else if !isOvercommitAllowed(name) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	if !limCPUOrMem && !reqCPUOrMem && (limHuge || reqHuge) {
		errs = append(errs, field.Forbidden(path, "HugePages require cpu or memory"))
	}
	return errs
}
