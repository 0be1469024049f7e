// Package pod is the strategy of pods: upstream's defaults (including those of the
// ServiceAccount and DefaultTolerationSeconds admission plugins), validation, the
// immutability of a running pod's spec, the status subresource, graceful deletion and
// the selectable fields the scheduler and kubelet watch with.
package pod

import (
	"strconv"

	"kube5/apiserver/internal/registry"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

type strategy struct {
	registry.Base
	tolerations TolerationSeconds
}

// Strategy is the pods' strategy with upstream's default tolerationSeconds (300).
var Strategy = strategy{Base: registry.Base{Namespaced: true}, tolerations: DefaultTolerations}

// NewStrategy is the pods' strategy adding the default not-ready and unreachable
// tolerations with these tolerationSeconds (kube-apiserver
// --default-not-ready-toleration-seconds, --default-unreachable-toleration-seconds).
func NewStrategy(tolerations TolerationSeconds) registry.Strategy {
	return strategy{Base: registry.Base{Namespaced: true}, tolerations: tolerations}
}

var (
	_ registry.Strategy        = Strategy
	_ registry.StatusStrategy  = Strategy
	_ registry.GracefulDeleter = Strategy
)

// Default applies upstream's pod defaults.
func (s strategy) Default(obj scheme.Object) { DefaultPodWith(obj.(*corev1.Pod), s.tolerations) }

// PrepareForCreate resets the status to Pending with the pod's QoS class, as upstream.
// It defaults first: the QoS class depends on requests defaulted from limits, and the
// generic store calls it before Default.
func (s strategy) PrepareForCreate(obj scheme.Object) {
	pod := obj.(*corev1.Pod)
	DefaultPodWith(pod, s.tolerations)
	pod.Status = &corev1.PodStatus{Phase: "Pending", QosClass: ComputeQOS(pod)}
}

// PrepareForUpdate has nothing to do: the generic store keeps the old status.
func (strategy) PrepareForUpdate(obj, old scheme.Object) {}

// Validate checks a new pod.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validatePod(obj.(*corev1.Pod))
}

// ValidateUpdate checks a pod update: metadata rules, and a spec that changes only where
// upstream allows (images, activeDeadlineSeconds, added tolerations).
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	return validatePodUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// PrepareForStatusUpdate keeps what the status subresource may not change and fills the
// paired fields the way upstream's v1 conversion does (podIP/podIPs, hostIP/hostIPs).
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	if pod.Status == nil {
		pod.Status = &corev1.PodStatus{}
	}
	// The QoS class is decided at creation; old kubelets drop it when rejecting a pod.
	if pod.Status.QosClass == "" {
		pod.Status.QosClass = oldPod.GetStatus().GetQosClass()
	}
	syncStatusIPs(pod.Status)
}

// syncStatusIPs pairs podIP with podIPs and hostIP with hostIPs as upstream's v1
// conversion: the plural is filled from the singular, the singular (authoritative for
// old clients when both are given and differ) is podIPs[0].
func syncStatusIPs(st *corev1.PodStatus) {
	if st.PodIp != "" && (len(st.PodIps) == 0 || st.PodIps[0].GetIp() != st.PodIp) {
		st.PodIps = []*corev1.PodIP{{Ip: st.PodIp}}
	}
	if len(st.PodIps) > 0 {
		st.PodIp = st.PodIps[0].GetIp()
	}
	if st.HostIp != "" && (len(st.HostIps) == 0 || st.HostIps[0].GetIp() != st.HostIp) {
		st.HostIps = []*corev1.HostIP{{Ip: st.HostIp}}
	}
	if len(st.HostIps) > 0 {
		st.HostIp = st.HostIps[0].GetIp()
	}
}

// ValidateStatusUpdate checks a status update.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	return validatePodStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// GracePeriod decides how long a deleted pod may take to stop, as upstream's
// CheckGracefulDelete: the requested period, else the pod's
// terminationGracePeriodSeconds (30 when unset); at once (0) when no kubelet runs the pod
// (not bound) or it has finished; a negative period becomes 1.
func (strategy) GracePeriod(obj scheme.Object, requested *int64) int64 {
	pod := obj.(*corev1.Pod)
	var period int64 = DefaultTerminationGracePeriodSeconds
	switch {
	case requested != nil:
		period = *requested
	case pod.GetSpec() != nil && pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.GetSpec().GetNodeName() == "" {
		period = 0
	}
	if phase := pod.GetStatus().GetPhase(); phase == "Failed" || phase == "Succeeded" {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	return period
}

// Fields are upstream's selectable pod fields.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	set := s.Base.Fields(obj)
	spec, st := pod.GetSpec(), pod.GetStatus()
	set["spec.nodeName"] = spec.GetNodeName()
	set["spec.restartPolicy"] = spec.GetRestartPolicy()
	set["spec.schedulerName"] = spec.GetSchedulerName()
	set["spec.serviceAccountName"] = spec.GetServiceAccountName()
	set["spec.hostNetwork"] = strconv.FormatBool(spec.GetHostNetwork())
	set["status.phase"] = st.GetPhase()
	podIP := st.GetPodIp()
	if len(st.GetPodIps()) > 0 {
		podIP = st.GetPodIps()[0].GetIp()
	}
	set["status.podIP"] = podIP
	set["status.nominatedNodeName"] = st.GetNominatedNodeName()
	return set
}
