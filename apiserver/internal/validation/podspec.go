package validation

import (
	"fmt"
	"math"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
)

// PodValidationOptions changes what ValidatePodSpecWithOptions enforces.
type PodValidationOptions struct {
	// ResourceIsPod is set when the spec is a pod's own, not a template's: with
	// hostNetwork a pod's hostPort must equal its containerPort, while a template may
	// leave it 0 (the pod's defaulting fills it in).
	ResourceIsPod bool
}

// Upstream's limits on DNS configuration, from libc's resolver.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

// ValidatePodSpec checks a pod spec as it appears in a template.
func ValidatePodSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	return ValidatePodSpecWithOptions(spec, path, PodValidationOptions{})
}

// ValidatePodSpecWithOptions checks a pod spec: volumes, containers, policies, scheduling
// constraints and the rest, with upstream's field paths and messages.
func ValidatePodSpecWithOptions(spec *corev1.PodSpec, path *field.Path, opts PodValidationOptions) field.ErrorList {
	if spec == nil {
		spec = &corev1.PodSpec{}
	}
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(path.Child("terminationGracePeriodSeconds"), ""))
	} else {
		errs = append(errs, ValidateNonnegativeField(*spec.TerminationGracePeriodSeconds, path.Child("terminationGracePeriodSeconds"))...)
	}
	vols, verrs := ValidateVolumes(spec.GetVolumes(), path.Child("volumes"))
	errs = append(errs, verrs...)
	errs = append(errs, validateContainers(spec.GetContainers(), vols, spec.TerminationGracePeriodSeconds, path.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.GetInitContainers(), spec.GetContainers(), vols, path.Child("initContainers"))...)
	errs = append(errs, validatePodHostNetworkDeps(spec, path, opts)...)
	errs = append(errs, validateRestartPolicy(spec.GetRestartPolicy(), path.Child("restartPolicy"))...)
	errs = append(errs, validateDNSPolicy(spec.GetDnsPolicy(), path.Child("dnsPolicy"))...)
	errs = append(errs, ValidateLabels(spec.GetNodeSelector(), path.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec, path.Child("securityContext"))...)
	errs = append(errs, ValidateAffinity(spec.GetAffinity(), path.Child("affinity"))...)
	errs = append(errs, validatePodDNSConfig(spec.GetDnsConfig(), spec.GetDnsPolicy(), path.Child("dnsConfig"))...)
	if spec.GetServiceAccountName() != "" {
		for _, msg := range NameIsDNSSubdomain(spec.GetServiceAccountName(), false) {
			errs = append(errs, field.Invalid(path.Child("serviceAccountName"), spec.GetServiceAccountName(), msg))
		}
	}
	if spec.GetNodeName() != "" {
		for _, msg := range NameIsDNSSubdomain(spec.GetNodeName(), false) {
			errs = append(errs, field.Invalid(path.Child("nodeName"), spec.GetNodeName(), msg))
		}
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), v, InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.GetHostname() != "" {
		errs = append(errs, ValidateDNS1123Label(spec.GetHostname(), path.Child("hostname"))...)
	}
	if spec.GetSubdomain() != "" {
		errs = append(errs, ValidateDNS1123Label(spec.GetSubdomain(), path.Child("subdomain"))...)
	}
	errs = append(errs, ValidateTolerations(spec.GetTolerations(), path.Child("tolerations"))...)
	for i, ha := range spec.GetHostAliases() {
		p := path.Child("hostAliases").Index(i)
		errs = append(errs, IsValidIP(p.Child("ip"), ha.GetIp())...)
		for j, hostname := range ha.GetHostnames() {
			errs = append(errs, ValidateDNS1123Subdomain(hostname, p.Child("hostnames").Index(j))...)
		}
	}
	if spec.GetPriorityClassName() != "" {
		for _, msg := range NameIsDNSSubdomain(spec.GetPriorityClassName(), false) {
			errs = append(errs, field.Invalid(path.Child("priorityClassName"), spec.GetPriorityClassName(), msg))
		}
	}
	return errs
}

// validatePodHostNetworkDeps: a host-network pod listens on the host, so each port's
// hostPort is its containerPort.
func validatePodHostNetworkDeps(spec *corev1.PodSpec, path *field.Path, opts PodValidationOptions) field.ErrorList {
	if !spec.GetHostNetwork() {
		return nil
	}
	var errs field.ErrorList
	for i, c := range spec.GetContainers() {
		for j, port := range c.GetPorts() {
			hp, cp := port.GetHostPort(), port.GetContainerPort()
			if (opts.ResourceIsPod || hp != 0) && hp != cp {
				errs = append(errs, field.Invalid(path.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort"), hp,
					"must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateRestartPolicy(policy string, path *field.Path) field.ErrorList {
	switch policy {
	case "Always", "OnFailure", "Never":
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	}
	return field.ErrorList{field.NotSupported(path, policy, []string{"Always", "OnFailure", "Never"})}
}

func validateDNSPolicy(policy string, path *field.Path) field.ErrorList {
	switch policy {
	case "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None":
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	}
	return field.ErrorList{field.NotSupported(path, policy, []string{"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"})}
}

func validatePodDNSConfig(cfg *corev1.PodDNSConfig, policy string, path *field.Path) field.ErrorList {
	if policy == "None" {
		if cfg == nil {
			return field.ErrorList{field.Required(path, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(cfg.GetNameservers()) == 0 {
			return field.ErrorList{field.Required(path.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")}
		}
	}
	if cfg == nil {
		return nil
	}
	var errs field.ErrorList
	if len(cfg.GetNameservers()) > maxDNSNameservers {
		errs = append(errs, field.Invalid(path.Child("nameservers"), cfg.GetNameservers(), fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.GetNameservers() {
		errs = append(errs, IsValidIP(path.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.GetSearches()) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(path.Child("searches"), cfg.GetSearches(), fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.GetSearches(), " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(path.Child("searches"), cfg.GetSearches(), fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, search := range cfg.GetSearches() {
		errs = append(errs, ValidateDNS1123Subdomain(strings.TrimSuffix(search, "."), path.Child("searches").Index(i))...)
	}
	for i, opt := range cfg.GetOptions() {
		if opt.GetName() == "" {
			errs = append(errs, field.Required(path.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func validatePodSecurityContext(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	sc := spec.GetSecurityContext()
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.FsGroup != nil {
		for _, msg := range IsValidGroupID(*sc.FsGroup) {
			errs = append(errs, field.Invalid(path.Child("fsGroup"), *sc.FsGroup, msg))
		}
	}
	if sc.RunAsUser != nil {
		for _, msg := range IsValidUserID(*sc.RunAsUser) {
			errs = append(errs, field.Invalid(path.Child("runAsUser"), *sc.RunAsUser, msg))
		}
	}
	if sc.RunAsGroup != nil {
		for _, msg := range IsValidGroupID(*sc.RunAsGroup) {
			errs = append(errs, field.Invalid(path.Child("runAsGroup"), *sc.RunAsGroup, msg))
		}
	}
	for g, gid := range sc.GetSupplementalGroups() {
		for _, msg := range IsValidGroupID(gid) {
			errs = append(errs, field.Invalid(path.Child("supplementalGroups").Index(g), gid, msg))
		}
	}
	// Upstream keeps shareProcessNamespace and hostPID in the internal security context,
	// hence this path.
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.GetHostPid() {
		errs = append(errs, field.Invalid(path.Child("shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	return errs
}

// ValidatePodTemplateSpec checks the template of a controller: labels and annotations
// (at template.labels, as upstream reports them) and the spec.
func ValidatePodTemplateSpec(tmpl *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	if tmpl == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := ValidateLabels(tmpl.GetMetadata().GetLabels(), path.Child("labels"))
	errs = append(errs, ValidateAnnotations(tmpl.GetMetadata().GetAnnotations(), path.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(tmpl.GetSpec(), path.Child("spec"))...)
	return errs
}

// ValidateContainersOnlyForPod is what a pod's containers get beyond a template's:
// no whitespace around the image (templates used " " as a placeholder).
func ValidateContainersOnlyForPod(containers []*corev1.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		if len(c.GetImage()) != len(strings.TrimSpace(c.GetImage())) {
			errs = append(errs, field.Invalid(path.Index(i).Child("image"), c.GetImage(), "must not have leading or trailing whitespace"))
		}
	}
	return errs
}
