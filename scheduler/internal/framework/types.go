// Package framework is the scheduler's plugin framework, after upstream's scheduling
// framework: the per-pod and per-node facts plugins read (PodInfo, NodeInfo, computed once
// and shared), the plugin interfaces (PreFilter, Filter, PreScore, Score with
// normalisation), Status, CycleState, and the Registry that maps plugin names to
// constructors.
package framework

import (
	"strconv"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/labels"
)

// Resource is an amount of the resources the scheduler accounts for.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
}

// Add adds r2 to r.
func (r *Resource) Add(r2 Resource) {
	r.MilliCPU += r2.MilliCPU
	r.Memory += r2.Memory
	r.EphemeralStorage += r2.EphemeralStorage
}

// Sub subtracts r2 from r.
func (r *Resource) Sub(r2 Resource) {
	r.MilliCPU -= r2.MilliCPU
	r.Memory -= r2.Memory
	r.EphemeralStorage -= r2.EphemeralStorage
}

// Upstream's defaults for a container that requests nothing, used only for scoring so
// best-effort pods do not all pile onto one node (the fit filter counts what is requested).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// HostPort is a port a pod binds on its node.
type HostPort struct {
	IP       string // "" or 0.0.0.0: every address
	Protocol string // TCP, UDP, SCTP
	Port     int32
}

// AffinityTerm is a parsed PodAffinityTerm.
type AffinityTerm struct {
	Selector    labels.Selector
	Namespaces  map[string]bool // empty with NamespaceAll false: the pod's own namespace
	AllNS       bool            // namespaceSelector {}: every namespace
	NSSelector  labels.Selector // non-empty namespaceSelector; nil when absent
	TopologyKey string
	Weight      int32 // preferred terms only
}

// Matches reports whether pod (in a namespace with nsLabels) is selected by the term.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels func(string) labels.Set) bool {
	ns := pod.GetMetadata().GetNamespace()
	switch {
	case t.AllNS || t.Namespaces[ns]:
	case t.NSSelector != nil && nsLabels != nil && t.NSSelector.Matches(nsLabels(ns)):
	default:
		return false
	}
	return t.Selector.Matches(labels.Set(pod.GetMetadata().GetLabels()))
}

// PodInfo is a pod with what the scheduler derives from it, computed once per pod.
type PodInfo struct {
	Pod       *corev1.Pod
	Key       string // namespace/name
	Namespace string
	// ControllerUID is the uid of the pod's controller ownerReference ("" if none).
	ControllerUID string
	// NodeName is where the pod runs or is assumed to run ("" while unscheduled); kept
	// apart from Pod.Spec so assuming a pod does not copy it.
	NodeName string
	Requests Resource // what the fit filter counts
	NonZero  Resource // Requests with upstream's defaults for zero cpu/memory, for scores
	Ports    []HostPort
	// Parsed affinity terms (nil when none).
	RequiredAffinity, RequiredAntiAffinity   []AffinityTerm
	PreferredAffinity, PreferredAntiAffinity []AffinityTerm
	// ParseErr is set when a selector of the pod does not parse; the pod is unschedulable.
	ParseErr error
}

// NewPodInfo derives a PodInfo from pod.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	m := pod.GetMetadata()
	pi := &PodInfo{Pod: pod, Key: m.GetNamespace() + "/" + m.GetName(), Namespace: m.GetNamespace(), NodeName: pod.GetSpec().GetNodeName()}
	for _, ref := range m.GetOwnerReferences() {
		if ref.GetController() {
			pi.ControllerUID = ref.GetUid()
			break
		}
	}
	pi.Requests, pi.NonZero = podRequests(pod.GetSpec())
	for _, c := range pod.GetSpec().GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetHostPort() <= 0 {
				continue
			}
			proto := p.GetProtocol()
			if proto == "" {
				proto = "TCP"
			}
			pi.Ports = append(pi.Ports, HostPort{IP: p.GetHostIp(), Protocol: proto, Port: p.GetHostPort()})
		}
	}
	aff := pod.GetSpec().GetAffinity()
	ns := m.GetNamespace()
	var err error
	parse := func(terms []*corev1.PodAffinityTerm) []AffinityTerm {
		var out []AffinityTerm
		for _, t := range terms {
			at, e := NewAffinityTerm(ns, t, 0)
			if e != nil {
				err = e
				continue
			}
			out = append(out, at)
		}
		return out
	}
	parseWeighted := func(terms []*corev1.WeightedPodAffinityTerm) []AffinityTerm {
		var out []AffinityTerm
		for _, t := range terms {
			at, e := NewAffinityTerm(ns, t.GetPodAffinityTerm(), t.GetWeight())
			if e != nil {
				err = e
				continue
			}
			out = append(out, at)
		}
		return out
	}
	if pa := aff.GetPodAffinity(); pa != nil {
		pi.RequiredAffinity = parse(pa.GetRequiredDuringSchedulingIgnoredDuringExecution())
		pi.PreferredAffinity = parseWeighted(pa.GetPreferredDuringSchedulingIgnoredDuringExecution())
	}
	if pa := aff.GetPodAntiAffinity(); pa != nil {
		pi.RequiredAntiAffinity = parse(pa.GetRequiredDuringSchedulingIgnoredDuringExecution())
		pi.PreferredAntiAffinity = parseWeighted(pa.GetPreferredDuringSchedulingIgnoredDuringExecution())
	}
	pi.ParseErr = err
	return pi
}

// WithNode returns a copy of pi placed on node, sharing everything else.
func (pi *PodInfo) WithNode(node string) *PodInfo {
	c := *pi
	c.NodeName = node
	return &c
}

// HasAffinity reports whether the pod has any pod (anti-)affinity term, required or
// preferred: such pods are visited by the interpodaffinity plugin's symmetry checks.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinity)+len(pi.RequiredAntiAffinity)+len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
}

// NewAffinityTerm parses t for a pod in namespace ns.
func NewAffinityTerm(ns string, t *corev1.PodAffinityTerm, weight int32) (AffinityTerm, error) {
	sel, err := labels.SelectorFromLabelSelector(t.GetLabelSelector())
	if err != nil {
		return AffinityTerm{}, err
	}
	at := AffinityTerm{Selector: sel, TopologyKey: t.GetTopologyKey(), Weight: weight, Namespaces: map[string]bool{}}
	for _, n := range t.GetNamespaces() {
		at.Namespaces[n] = true
	}
	if nss := t.GetNamespaceSelector(); nss != nil {
		if len(nss.GetMatchLabels())+len(nss.GetMatchExpressions()) == 0 {
			at.AllNS = true
		} else if at.NSSelector, err = labels.SelectorFromLabelSelector(nss); err != nil {
			return AffinityTerm{}, err
		}
	}
	if len(at.Namespaces) == 0 && t.GetNamespaceSelector() == nil {
		at.Namespaces[ns] = true
	}
	return at, nil
}

// podRequests is upstream's effective request: the larger of the sum over containers and
// the largest init container, per resource.
func podRequests(spec *corev1.PodSpec) (req, nonZero Resource) {
	for _, c := range spec.GetContainers() {
		r := containerRequests(c)
		req.Add(r)
		nz := r
		if _, ok := c.GetResources().GetRequests()["cpu"]; !ok {
			nz.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.GetResources().GetRequests()["memory"]; !ok {
			nz.Memory = DefaultMemoryRequest
		}
		nonZero.Add(nz)
	}
	for _, c := range spec.GetInitContainers() {
		r := containerRequests(c)
		req.MilliCPU = max(req.MilliCPU, r.MilliCPU)
		req.Memory = max(req.Memory, r.Memory)
		req.EphemeralStorage = max(req.EphemeralStorage, r.EphemeralStorage)
		nonZero.MilliCPU = max(nonZero.MilliCPU, r.MilliCPU)
		nonZero.Memory = max(nonZero.Memory, r.Memory)
	}
	return req, nonZero
}

func containerRequests(c *corev1.Container) Resource {
	reqs := c.GetResources().GetRequests()
	if len(reqs) == 0 {
		// Upstream defaults requests to limits when only limits are given.
		reqs = c.GetResources().GetLimits()
	}
	return ResourceList(reqs)
}

// ResourceList reads cpu, memory and ephemeral-storage from a resource map.
func ResourceList(m map[string]*metav1.Quantity) Resource {
	var r Resource
	if q := m["cpu"]; q != nil {
		r.MilliCPU = q.MilliValue()
	}
	if q := m["memory"]; q != nil {
		r.Memory = q.Value()
	}
	if q := m["ephemeral-storage"]; q != nil {
		r.EphemeralStorage = q.Value()
	}
	return r
}

// NodeInfo is a node and the pods on it (bound or assumed). A NodeInfo is immutable once
// published by the cache: the cache replaces it with a modified copy, so a scheduling
// cycle reads a consistent snapshot without locks.
type NodeInfo struct {
	Node *corev1.Node
	Name string
	Pods []*PodInfo
	// Requested sums the pods' Requests, NonZeroRequested their NonZero.
	Requested, NonZeroRequested Resource
	Allocatable                 Resource
	AllowedPods                 int64
	UsedPorts                   []HostPort
	// PodsWithAffinity counts pods with any (anti-)affinity term; PodsWithRequiredAntiAffinity
	// those with a required anti-affinity term. Plugins skip nodes where they are zero.
	PodsWithAffinity, PodsWithRequiredAntiAffinity int
	// Ready is false when the node reports a Ready condition that is not True.
	Ready bool
}

// NewNodeInfo returns the NodeInfo of node with no pods (node may be nil: pods seen on a
// node the cache does not know yet).
func NewNodeInfo(name string, node *corev1.Node) *NodeInfo {
	n := &NodeInfo{Name: name}
	n.SetNode(node)
	return n
}

// SetNode sets the node object and what is derived from it.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.Node = node
	n.Ready = true
	n.Allocatable, n.AllowedPods = Resource{}, 0
	if node == nil {
		return
	}
	alloc := node.GetStatus().GetAllocatable()
	n.Allocatable = ResourceList(alloc)
	if q := alloc["pods"]; q != nil {
		n.AllowedPods = q.Value()
	}
	for _, c := range node.GetStatus().GetConditions() {
		if c.GetType() == "Ready" && c.GetStatus() != "True" {
			n.Ready = false
		}
	}
}

// Clone returns a copy that can be modified without touching n.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	c.UsedPorts = append([]HostPort(nil), n.UsedPorts...)
	return &c
}

// AddPod accounts for pi on the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	n.Requested.Add(pi.Requests)
	n.NonZeroRequested.Add(pi.NonZero)
	n.UsedPorts = append(n.UsedPorts, pi.Ports...)
	if pi.HasAffinity() {
		n.PodsWithAffinity++
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity++
	}
}

// RemovePod removes the pod with key from the node; it reports whether it was there.
func (n *NodeInfo) RemovePod(key string) bool {
	for i, p := range n.Pods {
		if p.Key != key {
			continue
		}
		n.Pods = append(n.Pods[:i], n.Pods[i+1:]...)
		n.Requested.Sub(p.Requests)
		n.NonZeroRequested.Sub(p.NonZero)
		for _, hp := range p.Ports {
			for j, u := range n.UsedPorts {
				if u == hp {
					n.UsedPorts = append(n.UsedPorts[:j], n.UsedPorts[j+1:]...)
					break
				}
			}
		}
		if p.HasAffinity() {
			n.PodsWithAffinity--
		}
		if len(p.RequiredAntiAffinity) > 0 {
			n.PodsWithRequiredAntiAffinity--
		}
		return true
	}
	return false
}

// Labels are the node's labels.
func (n *NodeInfo) Labels() map[string]string { return n.Node.GetMetadata().GetLabels() }

// Tolerates reports whether tolerations tolerate taint, as upstream's
// v1.Toleration.ToleratesTaint.
func Tolerates(tolerations []*corev1.Toleration, taint *corev1.Taint) bool {
	for _, t := range tolerations {
		if ToleratesTaint(t, taint) {
			return true
		}
	}
	return false
}

// ToleratesTaint reports whether one toleration tolerates taint.
func ToleratesTaint(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.GetEffect() != "" && t.GetEffect() != taint.GetEffect() {
		return false
	}
	if t.GetKey() != "" && t.GetKey() != taint.GetKey() {
		return false
	}
	switch t.GetOperator() {
	case "", "Equal":
		return t.GetValue() == taint.GetValue()
	case "Exists":
		return true
	}
	return false
}

// NodeSelectorTermMatches reports whether node matches one NodeSelectorTerm: every
// matchExpression on its labels and every matchField on its fields (metadata.name).
// A term with no requirements matches nothing, as upstream.
func NodeSelectorTermMatches(term *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.GetMatchExpressions())+len(term.GetMatchFields()) == 0 {
		return false
	}
	lbls := node.GetMetadata().GetLabels()
	for _, r := range term.GetMatchExpressions() {
		if !requirementMatches(r, lbls) {
			return false
		}
	}
	for _, r := range term.GetMatchFields() {
		if r.GetKey() != "metadata.name" {
			return false
		}
		if !requirementMatches(r, map[string]string{"metadata.name": node.GetMetadata().GetName()}) {
			return false
		}
	}
	return true
}

func requirementMatches(r *corev1.NodeSelectorRequirement, lbls map[string]string) bool {
	v, has := lbls[r.GetKey()]
	switch r.GetOperator() {
	case "In":
		return has && contains(r.GetValues(), v)
	case "NotIn":
		return !has || !contains(r.GetValues(), v)
	case "Exists":
		return has
	case "DoesNotExist":
		return !has
	case "Gt", "Lt":
		if !has || len(r.GetValues()) != 1 {
			return false
		}
		a, err1 := parseInt(v)
		b, err2 := parseInt(r.GetValues()[0])
		if err1 != nil || err2 != nil {
			return false
		}
		if r.GetOperator() == "Gt" {
			return a > b
		}
		return a < b
	}
	return false
}

func contains(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) }
