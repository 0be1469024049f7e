package describe

import (
	"context"
	"fmt"

	"kube5/kubectl/internal/printers"
	u "kube5/kubectl/internal/unstructured"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
)

// nodeResources are the rows of a node's "Allocated resources", in upstream's order.
var nodeResources = []string{"cpu", "memory", "ephemeral-storage"}

// podRequests returns a pod's requests and limits as the scheduler counts them: the sum
// over its containers, or the largest init container when that is larger.
func podRequests(pod map[string]any) (req, lim map[string]*metav1.Quantity) {
	req, lim = map[string]*metav1.Quantity{}, map[string]*metav1.Quantity{}
	sum := func(dst map[string]*metav1.Quantity, src map[string]string) {
		for k, v := range src {
			q, err := metav1.ParseQuantity(v)
			if err != nil {
				continue
			}
			dst[k] = dst[k].Add(q)
		}
	}
	for _, c := range u.Maps(pod, "spec", "containers") {
		sum(req, u.StringMap(c, "resources", "requests"))
		sum(lim, u.StringMap(c, "resources", "limits"))
	}
	for _, c := range u.Maps(pod, "spec", "initContainers") {
		for dst, kind := range map[*map[string]*metav1.Quantity]string{&req: "requests", &lim: "limits"} {
			for k, v := range u.StringMap(c, "resources", kind) {
				q, err := metav1.ParseQuantity(v)
				if err == nil && q.Cmp((*dst)[k]) > 0 {
					(*dst)[k] = q
				}
			}
		}
	}
	return req, lim
}

// share renders "100m (5%)" of a quantity against the node's allocatable amount.
func share(q, allocatable *metav1.Quantity) string {
	pct := int64(0)
	if a := allocatable.MilliValue(); a > 0 {
		pct = int64(float64(q.MilliValue()) / float64(a) * 100)
	}
	return fmt.Sprintf("%s (%d%%)", q.AsString(), pct)
}

// describeNodePods writes "Non-terminated Pods" and "Allocated resources" as upstream.
func describeNodePods(ctx context.Context, cs *client.Clientset, w writer, node map[string]any) {
	list, err := cs.Pods("").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + u.Name(node)})
	if err != nil {
		return
	}
	alloc := map[string]*metav1.Quantity{}
	for k, v := range u.StringMap(node, "status", "allocatable") {
		if q, err := metav1.ParseQuantity(v); err == nil {
			alloc[k] = q
		}
	}
	var pods []map[string]any
	for _, p := range list.Items {
		if ph := p.GetStatus().GetPhase(); ph == "Succeeded" || ph == "Failed" {
			continue
		}
		m, err := u.FromProto(p)
		if err == nil {
			pods = append(pods, m)
		}
	}
	w.line(0, "Non-terminated Pods:\t(%d in total)", len(pods))
	totalReq, totalLim := map[string]*metav1.Quantity{}, map[string]*metav1.Quantity{}
	if len(pods) > 0 {
		w.line(1, "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
		w.line(1, "---------\t----\t------------\t----------\t---------------\t-------------\t---")
	}
	for _, p := range pods {
		req, lim := podRequests(p)
		for k, q := range req {
			totalReq[k] = totalReq[k].Add(q)
		}
		for k, q := range lim {
			totalLim[k] = totalLim[k].Add(q)
		}
		w.line(1, "%s\t%s\t%s\t%s\t%s\t%s\t%s", u.Namespace(p), u.Name(p),
			share(req["cpu"], alloc["cpu"]), share(lim["cpu"], alloc["cpu"]),
			share(req["memory"], alloc["memory"]), share(lim["memory"], alloc["memory"]),
			printers.Age(u.Time(p, "metadata", "creationTimestamp")))
	}
	w.line(0, "Allocated resources:")
	w.line(1, "(Total limits may be over 100 percent, i.e., overcommitted.)")
	w.line(1, "Resource\tRequests\tLimits")
	w.line(1, "--------\t--------\t------")
	for _, r := range nodeResources {
		w.line(1, "%s\t%s\t%s", r, share(totalReq[r], alloc[r]), share(totalLim[r], alloc[r]))
	}
}
