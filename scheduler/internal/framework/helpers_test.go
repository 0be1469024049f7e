package framework

import (
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

// podWith returns a pod whose containers and init containers request the given cpus
// ("" requests nothing).
func podWith(cpus, initCPUs []string) *corev1.Pod {
	mk := func(cpu string) *corev1.Container {
		c := &corev1.Container{Name: "c", Resources: &corev1.ResourceRequirements{}}
		if cpu != "" {
			c.Resources.Requests = map[string]*metav1.Quantity{"cpu": metav1.MustParseQuantity(cpu)}
		}
		return c
	}
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: &corev1.PodSpec{}}
	for _, c := range cpus {
		p.Spec.Containers = append(p.Spec.Containers, mk(c))
	}
	for _, c := range initCPUs {
		p.Spec.InitContainers = append(p.Spec.InitContainers, mk(c))
	}
	return p
}
