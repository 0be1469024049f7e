package pod

import (
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

// QoS classes.
const (
	QOSGuaranteed = "Guaranteed"
	QOSBurstable  = "Burstable"
	QOSBestEffort = "BestEffort"
)

// ComputeQOS returns the pod's QoS class as upstream's qos.ComputePodQOS: BestEffort
// without any cpu or memory request or limit; Guaranteed when every container limits both
// and the summed requests equal the summed limits; Burstable otherwise. Zero quantities
// count as unset.
func ComputeQOS(pod *corev1.Pod) string {
	requests := map[string]*metav1.Quantity{}
	limits := map[string]*metav1.Quantity{}
	zero := &metav1.Quantity{}
	guaranteed := true
	containers := append(append([]*corev1.Container{}, pod.GetSpec().GetContainers()...), pod.GetSpec().GetInitContainers()...)
	for _, c := range containers {
		for name, q := range c.GetResources().GetRequests() {
			if !isQOSResource(name) || q.Cmp(zero) <= 0 {
				continue
			}
			requests[name] = add(requests[name], q)
		}
		found := map[string]bool{}
		for name, q := range c.GetResources().GetLimits() {
			if !isQOSResource(name) || q.Cmp(zero) <= 0 {
				continue
			}
			found[name] = true
			limits[name] = add(limits[name], q)
		}
		if !found["cpu"] || !found["memory"] {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return QOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return QOSGuaranteed
	}
	return QOSBurstable
}

func isQOSResource(name string) bool { return name == "cpu" || name == "memory" }

func add(sum, q *metav1.Quantity) *metav1.Quantity {
	if sum == nil {
		return &metav1.Quantity{String_: q.GetString_()}
	}
	return sum.Add(q)
}
