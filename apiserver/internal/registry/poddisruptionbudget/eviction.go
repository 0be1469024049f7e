package poddisruptionbudget

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"kube5/apiserver/internal/registry"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/apierrors"
	"kube5/proto/labels"
)

// MaxDisruptedPods bounds status.disruptedPods, as upstream's MaxDisruptedPodSize.
const MaxDisruptedPods = 2000

// Upstream's messages for a refused eviction.
const (
	refusedMessage  = "Cannot evict pod as it would violate the pod's disruption budget."
	budgetCause     = "DisruptionBudget"
	conflictRetries = 5
)

var pdbGR = apierrors.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}

// Evict serves POST pods/{name}/eviction, as upstream's eviction REST: a pod no budget
// covers (or one not running: Pending, Succeeded, Failed, already terminating) is
// deleted with the eviction's deleteOptions; a pod one budget covers is deleted only
// when the budget allows a disruption, which the eviction spends (disruptionsAllowed
// decremented, the pod noted in disruptedPods until the controller sees it gone);
// otherwise 429 TooManyRequests, which `kubectl drain` retries. More than one budget
// over a pod is refused (500), as upstream.
func Evict(ctx context.Context, table *registry.Table, namespace, name string, ev *policyv1.Eviction, dryRun bool) error {
	pods, ok := table.Lookup("", "pods")
	if !ok {
		return apierrors.NewNotFoundMessage("pods are not served")
	}
	obj, err := pods.Storage.Get(ctx, namespace, name)
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	opts := ev.GetDeleteOptions()
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	deletePod := func() error {
		if dryRun {
			return nil
		}
		_, _, err := pods.Storage.Delete(ctx, namespace, name, opts)
		return err
	}
	if canIgnoreBudget(pod) {
		return deletePod()
	}
	pdbs, ok := table.Lookup("policy", "poddisruptionbudgets")
	if !ok {
		return deletePod()
	}
	for attempt := 0; ; attempt++ {
		budgets, err := matchingBudgets(ctx, pdbs.Storage, pod)
		if err != nil {
			return err
		}
		switch len(budgets) {
		case 0:
			return deletePod()
		case 1:
		default:
			return apierrors.NewInternalError(fmt.Errorf("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
		}
		pdb := budgets[0]
		if ignoreUnhealthy(pdb, pod) {
			return deletePod()
		}
		if err := spend(pdb, pod.GetMetadata().GetName()); err != nil {
			return err
		}
		if dryRun {
			return nil
		}
		_, err = pdbs.Storage.Update(ctx, namespace, pdb.GetMetadata().GetName(), "status", pdb, false)
		if apierrors.IsConflict(err) && attempt < conflictRetries {
			continue // another eviction spent from the same budget: look again
		}
		if err != nil {
			return err
		}
		return deletePod()
	}
}

// canIgnoreBudget: a pod that is not running (or already leaving) disrupts nothing.
func canIgnoreBudget(p *corev1.Pod) bool {
	switch p.GetStatus().GetPhase() {
	case "Succeeded", "Failed", "Pending", "":
		return true
	}
	return p.GetMetadata().GetDeletionTimestamp() != nil
}

// ignoreUnhealthy: an unready pod may go without spending the budget when the policy
// says AlwaysAllow, or (IfHealthyBudget) when the budget is met anyway.
func ignoreUnhealthy(pdb *policyv1.PodDisruptionBudget, p *corev1.Pod) bool {
	if podReady(p) {
		return false
	}
	if pdb.GetSpec().GetUnhealthyPodEvictionPolicy() == AlwaysAllow {
		return true
	}
	st := pdb.GetStatus()
	return pdb.GetStatus().GetObservedGeneration() >= pdb.GetMetadata().GetGeneration() && st.GetCurrentHealthy() >= st.GetDesiredHealthy() && st.GetDesiredHealthy() > 0
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

// spend takes one disruption from the budget for pod, or says why it cannot.
func spend(pdb *policyv1.PodDisruptionBudget, pod string) error {
	st := pdb.GetStatus()
	if st.GetObservedGeneration() < pdb.GetMetadata().GetGeneration() {
		return refused(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.GetMetadata().GetName()))
	}
	if st.GetDisruptionsAllowed() < 0 {
		return apierrors.NewForbidden(pdbGR, pdb.GetMetadata().GetName(), fmt.Errorf("pdb disruptions allowed is negative"))
	}
	if len(st.GetDisruptedPods()) > MaxDisruptedPods {
		return apierrors.NewForbidden(pdbGR, pdb.GetMetadata().GetName(), fmt.Errorf("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	}
	if st.GetDisruptionsAllowed() == 0 {
		return refused(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.GetMetadata().GetName(), st.GetDesiredHealthy(), st.GetCurrentHealthy()))
	}
	if pdb.Status == nil {
		pdb.Status = &policyv1.PodDisruptionBudgetStatus{}
	}
	pdb.Status.DisruptionsAllowed--
	if pdb.Status.DisruptedPods == nil {
		pdb.Status.DisruptedPods = map[string]*metav1.Time{}
	}
	pdb.Status.DisruptedPods[pod] = metav1.NewTime(time.Now())
	return nil
}

// refused is upstream's 429 for an eviction the budget does not allow.
func refused(cause string) error {
	err := apierrors.NewTooManyRequests(refusedMessage, 0)
	err.ErrStatus.Details.Causes = []*metav1.StatusCause{{Reason: budgetCause, Message: cause}}
	return err
}

// matchingBudgets lists the budgets of the pod's namespace whose selector selects it
// (copies: the caller changes them). A budget without a selector selects nothing.
func matchingBudgets(ctx context.Context, st registry.Storage, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	res, err := st.List(ctx, pod.GetMetadata().GetNamespace(), &rpcv1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, it := range res.Items {
		pdb := it.Object().(*policyv1.PodDisruptionBudget)
		if pdb.GetSpec().GetSelector() == nil {
			continue
		}
		sel, err := labels.SelectorFromLabelSelector(pdb.GetSpec().GetSelector())
		if err != nil || !sel.Matches(labels.Set(pod.GetMetadata().GetLabels())) {
			continue
		}
		out = append(out, proto.Clone(pdb).(*policyv1.PodDisruptionBudget))
	}
	return out, nil
}
