package eviction

import (
	"fmt"
	"sort"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

// rank orders pods for eviction by the signal's resource, as upstream's rankers:
//   - memory: pods using more than they request first, then lowest priority, then the
//     largest usage above requests;
//   - pids: lowest priority, then most processes;
//   - disk: pods using more ephemeral-storage than they request first, then lowest
//     priority, then largest usage.
func rank(s Signal, pods []*corev1.Pod, usage map[string]PodUsage) {
	use := func(p *corev1.Pod) int64 {
		u := usage[p.GetMetadata().GetUid()]
		switch s.resource() {
		case "memory":
			var sum int64
			for _, v := range u.Memory {
				sum += v
			}
			return sum
		case "pids":
			return u.PIDs
		}
		return u.Disk
	}
	req := func(p *corev1.Pod) int64 {
		switch s.resource() {
		case "memory":
			return requests(p, "memory")
		case "ephemeral-storage":
			return requests(p, "ephemeral-storage")
		}
		return 0
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if s.resource() != "pids" {
			ea, eb := use(a) > req(a), use(b) > req(b)
			if ea != eb {
				return ea
			}
		}
		if pa, pb := priority(a), priority(b); pa != pb {
			return pa < pb
		}
		return use(a)-req(a) > use(b)-req(b)
	})
}

func priority(p *corev1.Pod) int32 {
	if v := p.GetSpec().Priority; v != nil {
		return *v
	}
	return 0
}

// requests sums the pod's containers' requests of a resource.
func requests(p *corev1.Pod, resource string) int64 {
	var sum int64
	for _, c := range p.GetSpec().GetContainers() {
		if q := c.GetResources().GetRequests()[resource]; q != nil {
			sum += q.Value()
		}
	}
	return sum
}

func quantity(v int64) string { return metav1.NewQuantity(v, metav1.BinarySI).AsString() }

// message is upstream's eviction message: the resource, the threshold and what was
// available, and for memory each container using more than it requests.
func message(x met, p *corev1.Pod, u PodUsage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The node was low on resource: %s. ", x.t.Signal.resource())
	th := x.t.Value(x.obs.Capacity)
	if x.t.Signal == NodeFsInodesFree || x.t.Signal == ImageFsInodesFree || x.t.Signal == PIDAvailable {
		fmt.Fprintf(&b, "Threshold quantity: %d, available: %d. ", th, x.obs.Available)
	} else {
		fmt.Fprintf(&b, "Threshold quantity: %s, available: %s. ", quantity(th), quantity(x.obs.Available))
	}
	if x.t.Signal == MemoryAvailable {
		for _, c := range p.GetSpec().GetContainers() {
			used, ok := u.Memory[c.GetName()]
			var req int64
			if q := c.GetResources().GetRequests()["memory"]; q != nil {
				req = q.Value()
			}
			if ok && used > req {
				fmt.Fprintf(&b, "Container %s was using %s, request is %s, has larger consumption of memory. ", c.GetName(), quantity(used), quantity(req))
			}
		}
	}
	return b.String()
}
