package pod

import (
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
)

// MirrorPodAnnotationKey marks the API copy of a kubelet's static pod.
const MirrorPodAnnotationKey = "kubernetes.io/config.mirror"

// updatablePodSpecFields is upstream's list, printed when an update changes anything else.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// validatePod checks metadata and spec of a pod (create, and the new pod of an update).
func validatePod(pod *corev1.Pod) field.ErrorList {
	metaPath, specPath := field.NewPath("metadata"), field.NewPath("spec")
	errs := validation.ValidateObjectMeta(pod.GetMetadata(), true, validation.NameIsDNSSubdomain, metaPath)
	if v, ok := pod.GetMetadata().GetAnnotations()[MirrorPodAnnotationKey]; ok && pod.GetSpec().GetNodeName() == "" {
		errs = append(errs, field.Invalid(metaPath.Child("annotations").Key(MirrorPodAnnotationKey), v, "must set spec.nodeName if mirror pod annotation is set"))
	}
	errs = append(errs, validation.ValidatePodSpecWithOptions(pod.GetSpec(), specPath, validation.PodValidationOptions{ResourceIsPod: true})...)
	errs = append(errs, validation.ValidateContainersOnlyForPod(pod.GetSpec().GetContainers(), specPath.Child("containers"))...)
	errs = append(errs, validation.ValidateContainersOnlyForPod(pod.GetSpec().GetInitContainers(), specPath.Child("initContainers"))...)
	return errs
}

// validatePodUpdate is upstream's ValidatePodUpdate: a pod's spec is fixed once created,
// except for container images, a shorter activeDeadlineSeconds, added tolerations, and a
// negative terminationGracePeriodSeconds raised to 1. spec.nodeName in particular only
// changes through pods/binding.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	metaPath, specPath := field.NewPath("metadata"), field.NewPath("spec")
	errs := validation.ValidateObjectMetaUpdate(pod.GetMetadata(), old.GetMetadata(), metaPath)
	errs = append(errs, validatePod(pod)...)
	errs = append(errs, validateMirrorAnnotationUpdate(pod, old, metaPath.Child("annotations"))...)

	spec, oldSpec := pod.GetSpec(), old.GetSpec()
	if spec == nil {
		spec = &corev1.PodSpec{}
	}
	if oldSpec == nil {
		oldSpec = &corev1.PodSpec{}
	}
	cerrs, stop := validateContainerUpdates(spec.GetContainers(), oldSpec.GetContainers(), specPath.Child("containers"))
	errs = append(errs, cerrs...)
	if stop {
		return errs
	}
	cerrs, stop = validateContainerUpdates(spec.GetInitContainers(), oldSpec.GetInitContainers(), specPath.Child("initContainers"))
	errs = append(errs, cerrs...)
	if stop {
		return errs
	}

	// activeDeadlineSeconds may be set, or lowered, but not raised or removed.
	if spec.ActiveDeadlineSeconds != nil {
		v := *spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if oldSpec.ActiveDeadlineSeconds != nil && *oldSpec.ActiveDeadlineSeconds < v {
			return append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), v, "must be less than or equal to previous value"))
		}
	} else if oldSpec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, validation.ValidateOnlyAddedTolerations(spec.GetTolerations(), oldSpec.GetTolerations(), specPath.Child("tolerations"))...)

	if validation.EqualMessages(spec, oldSpec) {
		return errs
	}
	// Undo the allowed changes in a copy; whatever still differs was not allowed.
	munged := proto.Clone(spec).(*corev1.PodSpec)
	for i, c := range munged.Containers {
		c.Image = oldSpec.GetContainers()[i].GetImage()
	}
	for i, c := range munged.InitContainers {
		c.Image = oldSpec.GetInitContainers()[i].GetImage()
	}
	munged.ActiveDeadlineSeconds = nil
	if oldSpec.ActiveDeadlineSeconds != nil {
		v := *oldSpec.ActiveDeadlineSeconds
		munged.ActiveDeadlineSeconds = &v
	}
	munged.Tolerations = oldSpec.GetTolerations()
	if o := oldSpec.TerminationGracePeriodSeconds; o != nil && *o < 0 &&
		munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		v := *o
		munged.TerminationGracePeriodSeconds = &v
	}
	if !validation.EqualMessages(munged, oldSpec) {
		diff := validation.DiffMessages(oldSpec, munged, "spec")
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%s",
			strings.Join(updatablePodSpecFields, ","), strings.Join(indent(diff), "\n"))))
	}
	return errs
}

func indent(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "  " + l
	}
	return out
}

// validateContainerUpdates: the container list keeps its length; images stay set.
func validateContainerUpdates(cs, old []*corev1.Container, path *field.Path) (field.ErrorList, bool) {
	if len(cs) != len(old) {
		return field.ErrorList{field.Forbidden(path, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range cs {
		if c.GetImage() == "" {
			errs = append(errs, field.Required(path.Index(i).Child("image"), ""))
		}
		if len(strings.TrimSpace(c.GetImage())) != len(c.GetImage()) {
			errs = append(errs, field.Invalid(path.Index(i).Child("image"), c.GetImage(), "must not have leading or trailing whitespace"))
		}
	}
	return errs, false
}

// validateMirrorAnnotationUpdate: a pod cannot become, or stop being, a mirror pod.
func validateMirrorAnnotationUpdate(pod, old *corev1.Pod, path *field.Path) field.ErrorList {
	newA, oldA := pod.GetMetadata().GetAnnotations(), old.GetMetadata().GetAnnotations()
	nv, nok := newA[MirrorPodAnnotationKey]
	ov, ook := oldA[MirrorPodAnnotationKey]
	switch {
	case ook && (!nok || nv != ov):
		return field.ErrorList{field.Forbidden(path.Key(MirrorPodAnnotationKey), "may not remove or update mirror pod annotation")}
	case nok && !ook:
		return field.ErrorList{field.Forbidden(path.Key(MirrorPodAnnotationKey), "may not add mirror pod annotation")}
	}
	return nil
}

// validatePodStatusUpdate is upstream's ValidatePodStatusUpdate for the fields kube5 has.
func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	metaPath, statusPath := field.NewPath("metadata"), field.NewPath("status")
	errs := validation.ValidateObjectMetaUpdate(pod.GetMetadata(), old.GetMetadata(), metaPath)
	errs = append(errs, validateMirrorAnnotationUpdate(pod, old, metaPath.Child("annotations"))...)
	st, oldSt := pod.GetStatus(), old.GetStatus()
	for i, c := range st.GetConditions() {
		switch c.GetType() {
		case "PodScheduled", "Ready", "Initialized":
		default:
			// Upstream reports custom condition types under metadata (sic).
			errs = append(errs, validation.ValidateQualifiedName(c.GetType(), metaPath.Child("conditions").Index(i).Child("Type"))...)
		}
	}
	if pod.GetSpec().GetNodeName() != old.GetSpec().GetNodeName() {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := st.GetNominatedNodeName(); n != oldSt.GetNominatedNodeName() && n != "" {
		for _, msg := range validation.NameIsDNSSubdomain(n, false) {
			errs = append(errs, field.Invalid(statusPath.Child("nominatedNodeName"), n, msg))
		}
	}
	errs = append(errs, validation.ValidateImmutableField(st.GetQosClass(), oldSt.GetQosClass(), statusPath.Child("qosClass"))...)
	restart := old.GetSpec().GetRestartPolicy()
	errs = append(errs, validateContainerStateTransition(st.GetContainerStatuses(), oldSt.GetContainerStatuses(), statusPath.Child("containerStatuses"), restart)...)
	errs = append(errs, validateContainerStateTransition(st.GetInitContainerStatuses(), oldSt.GetInitContainerStatuses(), statusPath.Child("initContainerStatuses"), restart)...)
	errs = append(errs, validateStatusIPs(st, statusPath)...)
	return errs
}

// validateContainerStateTransition: unless the pod restarts its containers, a terminated
// container stays terminated (a failed one may restart under OnFailure).
func validateContainerStateTransition(statuses, old []*corev1.ContainerStatus, path *field.Path, restart string) field.ErrorList {
	if restart == "Always" {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		term := o.GetState().GetTerminated()
		if term == nil || (term.GetExitCode() != 0 && restart == "OnFailure") {
			continue
		}
		for _, s := range statuses {
			if s.GetName() == o.GetName() && s.GetState().GetTerminated() == nil {
				errs = append(errs, field.Forbidden(path.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// validateStatusIPs: valid addresses, at most one per IP family, no duplicates, hostIP
// equal to hostIPs[0].
func validateStatusIPs(st *corev1.PodStatus, statusPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	podIPs := make([]string, 0, len(st.GetPodIps()))
	for _, ip := range st.GetPodIps() {
		podIPs = append(podIPs, ip.GetIp())
	}
	errs = append(errs, validateIPList(podIPs, statusPath.Child("podIPs"), badValueIPs(st.GetPodIps()))...)
	hostIPs := make([]string, 0, len(st.GetHostIps()))
	for _, ip := range st.GetHostIps() {
		hostIPs = append(hostIPs, ip.GetIp())
	}
	if len(hostIPs) > 0 && st.GetHostIp() != hostIPs[0] {
		errs = append(errs, field.Invalid(statusPath.Child("hostIPs").Index(0).Child("ip"), hostIPs[0], "must be equal to `hostIP`"))
	}
	errs = append(errs, validateIPList(hostIPs, statusPath.Child("hostIPs"), badValueIPs(st.GetHostIps()))...)
	return errs
}

// badValueIPs prints a list of PodIP or HostIP for an error.
func badValueIPs[T proto.Message](ips []T) any { return validation.BadValue(ips) }

func validateIPList(ips []string, path *field.Path, whole any) field.ErrorList {
	var errs field.ErrorList
	invalid := false
	for i, ip := range ips {
		e := validation.IsValidIP(path.Index(i), ip)
		invalid = invalid || len(e) > 0
		errs = append(errs, e...)
	}
	if len(ips) > 1 && !invalid {
		if !validation.IsDualStack(ips, false) || len(ips) > 2 {
			errs = append(errs, field.Invalid(path, whole, "may specify no more than one IP for each IP family"))
		}
		seen := map[string]bool{}
		for i, ip := range ips {
			if seen[ip] {
				errs = append(errs, field.Duplicate(path.Index(i), ip))
			}
			seen[ip] = true
		}
	}
	return errs
}
