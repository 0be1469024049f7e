// Package node is the strategy of nodes: the podCIDR/podCIDRs pairing of upstream's v1
// conversion, allocatable defaulted from capacity, validation of taints, CIDRs and
// resources, and podCIDRs and providerID fixed once set. Status may be set on create:
// the kubelet registers its node with it.
package node

import (
	"strconv"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

type strategy struct{ registry.Base }

// Strategy is the nodes' (cluster-scoped) strategy.
var Strategy = strategy{registry.Base{Namespaced: false}}

var (
	_ registry.Strategy       = Strategy
	_ registry.StatusStrategy = Strategy
)

// Default pairs spec.podCIDR with spec.podCIDRs and fills status.allocatable.
func (strategy) Default(obj scheme.Object) {
	n := obj.(*corev1.Node)
	if n.Spec == nil {
		n.Spec = &corev1.NodeSpec{}
	}
	if len(n.Spec.PodCidrs) == 0 && n.Spec.PodCidr != "" {
		n.Spec.PodCidrs = []string{n.Spec.PodCidr}
	}
	if len(n.Spec.PodCidrs) > 0 {
		n.Spec.PodCidr = n.Spec.PodCidrs[0]
	}
	defaultStatus(n.Status)
}

// defaultStatus is SetDefaults_NodeStatus: a node that reports capacity but no
// allocatable can allocate all of it.
func defaultStatus(st *corev1.NodeStatus) {
	if st == nil || st.Allocatable != nil || st.Capacity == nil {
		return
	}
	st.Allocatable = make(map[string]*metav1.Quantity, len(st.Capacity))
	for k, v := range st.Capacity {
		st.Allocatable[k] = &metav1.Quantity{String_: v.GetString_()}
	}
}

// Validate checks a new node.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateNode(obj.(*corev1.Node))
}

func validateNode(n *corev1.Node) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := validation.ValidateObjectMeta(n.GetMetadata(), false, validation.NameIsDNSSubdomain, metaPath)
	// Upstream reports taints under metadata (sic); kept for identical messages.
	errs = append(errs, validation.ValidateTaints(n.GetSpec().GetTaints(), metaPath.Child("taints"))...)
	errs = append(errs, validateResources(n)...)
	cidrs := n.GetSpec().GetPodCidrs()
	if len(cidrs) > 0 {
		p := field.NewPath("spec", "podCIDRs")
		invalid := false
		for i, c := range cidrs {
			e := validation.IsValidCIDR(p.Index(i), c)
			invalid = invalid || len(e) > 0
			errs = append(errs, e...)
		}
		if len(cidrs) > 1 && !invalid {
			if !validation.IsDualStack(cidrs, true) || len(cidrs) > 2 {
				errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one CIDR for each IP family"))
			}
			seen := map[string]bool{}
			for i, c := range cidrs {
				if seen[c] {
					errs = append(errs, field.Duplicate(p.Index(i), c))
				}
				seen[c] = true
			}
		}
	}
	return errs
}

// validateResources checks status.capacity and status.allocatable quantities.
func validateResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, set := range []struct {
		name string
		list map[string]*metav1.Quantity
	}{{"capacity", n.GetStatus().GetCapacity()}, {"allocatable", n.GetStatus().GetAllocatable()}} {
		for k, v := range set.list {
			errs = append(errs, validation.ValidateResourceQuantityValue(k, v, field.NewPath("status", set.name, k))...)
		}
	}
	return errs
}

// ValidateUpdate checks an update: podCIDRs and providerID may be set once, not changed.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	n, oldN := obj.(*corev1.Node), old.(*corev1.Node)
	errs := validateNode(n)
	return append(errs, validateNodeUpdate(n, oldN)...)
}

func validateNodeUpdate(n, oldN *corev1.Node) field.ErrorList {
	errs := validation.ValidateObjectMetaUpdate(n.GetMetadata(), oldN.GetMetadata(), field.NewPath("metadata"))
	seen := map[string]bool{}
	for i, a := range n.GetStatus().GetAddresses() {
		key := a.GetType() + "/" + a.GetAddress()
		if seen[key] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), validation.BadValue(a)))
		}
		seen[key] = true
	}
	const cidrMsg = "node updates may not change podCIDR except from \"\" to valid"
	if oldCIDRs := oldN.GetSpec().GetPodCidrs(); len(oldCIDRs) > 0 {
		newCIDRs := n.GetSpec().GetPodCidrs()
		if len(oldCIDRs) != len(newCIDRs) {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), cidrMsg))
		} else {
			for i, c := range oldCIDRs {
				if c != newCIDRs[i] {
					errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), cidrMsg))
				}
			}
		}
	}
	if p := oldN.GetSpec().GetProviderId(); p != "" && p != n.GetSpec().GetProviderId() {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

// PrepareForStatusUpdate fills allocatable from capacity, as defaulting would.
func (strategy) PrepareForStatusUpdate(obj, old scheme.Object) {
	defaultStatus(obj.(*corev1.Node).Status)
}

// ValidateStatusUpdate checks a status update as upstream's node status strategy.
func (strategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	n, oldN := obj.(*corev1.Node), old.(*corev1.Node)
	errs := validateResources(n)
	return append(errs, validateNodeUpdate(n, oldN)...)
}

// Fields are metadata.name and spec.unschedulable.
func (s strategy) Fields(obj scheme.Object) fields.Set {
	set := s.Base.Fields(obj)
	set["spec.unschedulable"] = strconv.FormatBool(obj.(*corev1.Node).GetSpec().GetUnschedulable())
	return set
}
