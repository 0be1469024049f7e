package allocator

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/klog/v2"

	"kube5/apiserver/internal/registry"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

// ServiceStrategy wraps the services strategy with ClusterIP and NodePort allocation:
// allocated on create (or the requested ones claimed), kept across updates that do not
// mention them, released on delete and when an update drops them.
type ServiceStrategy struct {
	registry.Strategy
	IPs   *IPs
	Ports *Ports
}

var svcKind = apierrors.GroupKind{Kind: "Service"}

func owner(svc *corev1.Service) string {
	return svc.GetMetadata().GetNamespace() + "/" + svc.GetMetadata().GetName()
}

func needsIP(svc *corev1.Service) bool {
	return svc.GetSpec().GetType() != "ExternalName" && svc.GetSpec().GetClusterIp() != "None"
}

func needsNodePorts(svc *corev1.Service) bool {
	t := svc.GetSpec().GetType()
	return t == "NodePort" || t == "LoadBalancer"
}

// PrepareForUpdate keeps the allocated clusterIP and nodePorts when the update leaves
// them empty (a PUT of an edited manifest usually does), as upstream.
func (s ServiceStrategy) PrepareForUpdate(obj, old scheme.Object) {
	svc, prev := obj.(*corev1.Service), old.(*corev1.Service)
	if svc.Spec != nil && prev.Spec != nil {
		if svc.Spec.ClusterIp == "" && needsIP(svc) && prev.Spec.ClusterIp != "" && prev.Spec.ClusterIp != "None" {
			svc.Spec.ClusterIp = prev.Spec.ClusterIp
			svc.Spec.ClusterIps = append([]string(nil), prev.Spec.ClusterIps...)
		}
		if needsNodePorts(svc) {
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					continue
				}
				for _, q := range prev.Spec.Ports {
					if q.NodePort != 0 && q.Port == p.Port && q.Protocol == p.Protocol {
						p.NodePort = q.NodePort
					}
				}
			}
		}
	}
	s.Strategy.PrepareForUpdate(obj, old)
}

// BeforeCreate allocates what the new service needs.
func (s ServiceStrategy) BeforeCreate(ctx context.Context, obj scheme.Object) (func(), error) {
	svc := obj.(*corev1.Service)
	var undo []func()
	rollback := func() {
		for _, u := range undo {
			u()
		}
	}
	if needsIP(svc) {
		ip, err := s.allocateIP(ctx, svc)
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() { s.releaseIP(ip) })
	}
	if needsNodePorts(svc) {
		ports, err := s.allocatePorts(ctx, svc, nil)
		undo = append(undo, func() { s.releasePorts(ports) })
		if err != nil {
			rollback()
			return nil, err
		}
	}
	return rollback, nil
}

// BeforeUpdate allocates what the updated service gains and, on commit, releases what
// it loses.
func (s ServiceStrategy) BeforeUpdate(ctx context.Context, obj, old scheme.Object) (commit, undo func(), err error) {
	svc, prev := obj.(*corev1.Service), old.(*corev1.Service)
	var gained []func()
	var lost []func()
	undoAll := func() {
		for _, u := range gained {
			u()
		}
	}
	prevIP := prev.GetSpec().GetClusterIp()
	switch {
	case needsIP(svc) && (!needsIP(prev) || prevIP == ""):
		ip, err := s.allocateIP(ctx, svc)
		if err != nil {
			return nil, nil, err
		}
		gained = append(gained, func() { s.releaseIP(ip) })
	case !needsIP(svc) && needsIP(prev) && prevIP != "":
		lost = append(lost, func() { s.releaseIP(prevIP) })
		svc.Spec.ClusterIps = nil
		if svc.Spec.ClusterIp != "None" {
			svc.Spec.ClusterIp = ""
		}
	}
	held := map[int32]bool{}
	if needsNodePorts(prev) {
		for _, p := range prev.GetSpec().GetPorts() {
			held[p.NodePort] = true
		}
	}
	if needsNodePorts(svc) {
		ports, err := s.allocatePorts(ctx, svc, held)
		gained = append(gained, func() { s.releasePorts(ports) })
		if err != nil {
			undoAll()
			return nil, nil, err
		}
	} else {
		for _, p := range svc.GetSpec().GetPorts() {
			p.NodePort = 0
		}
	}
	keep := map[int32]bool{}
	if needsNodePorts(svc) {
		for _, p := range svc.GetSpec().GetPorts() {
			keep[p.NodePort] = true
		}
	}
	for port := range held {
		if port != 0 && !keep[port] {
			lost = append(lost, func() { s.releasePorts([]int32{port}) })
		}
	}
	commit = func() {
		for _, l := range lost {
			l()
		}
	}
	return commit, undoAll, nil
}

// AfterDelete releases the service's allocations.
func (s ServiceStrategy) AfterDelete(ctx context.Context, obj scheme.Object) {
	svc := obj.(*corev1.Service)
	if needsIP(svc) {
		s.releaseIP(svc.GetSpec().GetClusterIp())
	}
	if needsNodePorts(svc) {
		var ports []int32
		for _, p := range svc.GetSpec().GetPorts() {
			ports = append(ports, p.NodePort)
		}
		s.releasePorts(ports)
	}
}

func (s ServiceStrategy) allocateIP(ctx context.Context, svc *corev1.Service) (string, error) {
	spec := svc.Spec
	if spec.ClusterIp == "" {
		ip, err := s.IPs.AllocateNext(ctx, owner(svc))
		if errors.Is(err, ErrFull) {
			return "", apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: range is full: every address of --service-cluster-ip-range %s is in use", s.IPs.CIDR()))
		}
		if err != nil {
			return "", apierrors.NewServiceUnavailable("failed to allocate a serviceIP: " + err.Error())
		}
		spec.ClusterIp, spec.ClusterIps = ip, []string{ip}
		return ip, nil
	}
	ip := spec.ClusterIp
	err := s.IPs.Allocate(ctx, ip, owner(svc))
	path := field.NewPath("spec", "clusterIPs")
	switch {
	case errors.Is(err, ErrNotInRange):
		return "", apierrors.NewInvalid(svcKind, svc.GetMetadata().GetName(), field.ErrorList{field.Invalid(path, []string{ip},
			fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, s.IPs.CIDR()))})
	case errors.Is(err, ErrAllocated):
		return "", apierrors.NewInvalid(svcKind, svc.GetMetadata().GetName(), field.ErrorList{field.Invalid(path, []string{ip},
			fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip))})
	case err != nil:
		return "", apierrors.NewServiceUnavailable("failed to allocate a serviceIP: " + err.Error())
	}
	spec.ClusterIps = []string{ip}
	return ip, nil
}

// allocatePorts gives every port without a nodePort one and claims requested ones that
// are not already held by this service. It returns what it claimed.
func (s ServiceStrategy) allocatePorts(ctx context.Context, svc *corev1.Service, held map[int32]bool) ([]int32, error) {
	var claimed []int32
	for i, p := range svc.GetSpec().GetPorts() {
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		if p.NodePort == 0 {
			n, err := s.Ports.AllocateNext(ctx, owner(svc))
			if errors.Is(err, ErrFull) {
				return claimed, apierrors.NewInvalid(svcKind, svc.GetMetadata().GetName(), field.ErrorList{field.Invalid(path, 0,
					fmt.Sprintf("failed to allocate a nodePort: range is full: every port of --service-node-port-range %s is in use", s.Ports.Range()))})
			}
			if err != nil {
				return claimed, apierrors.NewServiceUnavailable("failed to allocate a nodePort: " + err.Error())
			}
			p.NodePort = int32(n)
			claimed = append(claimed, p.NodePort)
			continue
		}
		if held[p.NodePort] {
			continue
		}
		err := s.Ports.Allocate(ctx, int(p.NodePort), owner(svc))
		switch {
		case errors.Is(err, ErrNotInRange):
			return claimed, apierrors.NewInvalid(svcKind, svc.GetMetadata().GetName(), field.ErrorList{field.Invalid(path, p.NodePort,
				fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", s.Ports.Range()))})
		case errors.Is(err, ErrAllocated):
			return claimed, apierrors.NewInvalid(svcKind, svc.GetMetadata().GetName(), field.ErrorList{field.Invalid(path, p.NodePort, "provided port is already allocated")})
		case err != nil:
			return claimed, apierrors.NewServiceUnavailable("failed to allocate a nodePort: " + err.Error())
		}
		claimed = append(claimed, p.NodePort)
	}
	return claimed, nil
}

// Releases run after the request's own work; they get a fresh context so a client that
// hung up does not leak allocations.
func (s ServiceStrategy) releaseIP(ip string) {
	if ip == "" || ip == "None" {
		return
	}
	if err := s.IPs.Release(context.Background(), ip); err != nil {
		klog.ErrorS(err, "releasing service IP; it stays allocated until the next repair", "ip", ip)
	}
}

func (s ServiceStrategy) releasePorts(ports []int32) {
	for _, p := range ports {
		if p == 0 {
			continue
		}
		if err := s.Ports.Release(context.Background(), int(p)); err != nil {
			klog.ErrorS(err, "releasing node port; it stays allocated until the next repair", "port", p)
		}
	}
}

// PrepareForStatusUpdate and ValidateStatusUpdate forward to the wrapped strategy: the
// embedded interface would otherwise hide them from the store's StatusStrategy check.
func (s ServiceStrategy) PrepareForStatusUpdate(obj, old scheme.Object) {
	if st, ok := s.Strategy.(registry.StatusStrategy); ok {
		st.PrepareForStatusUpdate(obj, old)
	}
}

func (s ServiceStrategy) ValidateStatusUpdate(obj, old scheme.Object) field.ErrorList {
	if st, ok := s.Strategy.(registry.StatusStrategy); ok {
		return st.ValidateStatusUpdate(obj, old)
	}
	return nil
}
