// Package fake builds Node, Pod and NodeInfo objects for the unit tests of plugins and
// of the scheduling loop, without a server.
package fake

import (
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/scheduler/internal/framework"
)

// Node returns a ready node with allocatable cpu, memory and 110 pods; mods adjust it.
func Node(name, cpu, mem string, mods ...func(*corev1.Node)) *corev1.Node {
	alloc := map[string]*metav1.Quantity{"pods": metav1.MustParseQuantity("110")}
	if cpu != "" {
		alloc["cpu"] = metav1.MustParseQuantity(cpu)
	}
	if mem != "" {
		alloc["memory"] = metav1.MustParseQuantity(mem)
	}
	n := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:     &corev1.NodeSpec{},
		Status: &corev1.NodeStatus{Allocatable: alloc,
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

// Labels sets node labels (kept: kubernetes.io/hostname).
func Labels(kv ...string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Metadata.Labels[kv[i]] = kv[i+1]
		}
	}
}

// Taint adds a taint.
func Taint(key, value, effect string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, &corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

// Pod returns a pod in namespace default requesting cpu and memory ("" for none).
func Pod(name, cpu, mem string, mods ...func(*corev1.Pod)) *corev1.Pod {
	req := map[string]*metav1.Quantity{}
	if cpu != "" {
		req["cpu"] = metav1.MustParseQuantity(cpu)
	}
	if mem != "" {
		req["memory"] = metav1.MustParseQuantity(mem)
	}
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name, Labels: map[string]string{}},
		Spec: &corev1.PodSpec{SchedulerName: "default-scheduler", Containers: []*corev1.Container{{
			Name: "c", Image: "img", Resources: &corev1.ResourceRequirements{Requests: req}}}},
		Status: &corev1.PodStatus{},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

// PodLabels sets pod labels.
func PodLabels(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Metadata.Labels[kv[i]] = kv[i+1]
		}
	}
}

// OnNode sets spec.nodeName.
func OnNode(node string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

// NodeInfo returns the NodeInfo of node holding pods (placed on it whatever their
// spec.nodeName says).
func NodeInfo(node *corev1.Node, pods ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(node.GetMetadata().GetName(), node)
	for _, p := range pods {
		ni.AddPod(framework.NewPodInfo(p).WithNode(ni.Name))
	}
	return ni
}
