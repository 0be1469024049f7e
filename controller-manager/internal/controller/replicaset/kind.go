package replicaset

import (
	"google.golang.org/protobuf/proto"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/client"
	"kube5/proto/labels"
	"kube5/proto/scheme"
)

// Status is the part of a ReplicaSet's or ReplicationController's status the controller
// computes; both types have the same fields.
type Status struct {
	Replicas, FullyLabeledReplicas, ReadyReplicas, AvailableReplicas int32
	ObservedGeneration                                               int64
	// FailureReason and FailureMessage are the ReplicaFailure condition (FailedCreate,
	// FailedDelete: the last sync could not create or delete pods); "" when there is none.
	FailureReason, FailureMessage string
}

// ReplicaFailure is the condition type reporting failed pod creations or deletions.
const ReplicaFailure = "ReplicaFailure"

// Kind adapts one owner type to the shared controller: ReplicaSets and
// ReplicationControllers differ only in their selector type and names.
type Kind[T scheme.Object] struct {
	Name       string // controller name: "replicaset"
	Component  string // event source: "replicaset-controller"
	APIVersion string
	KindName   string // "ReplicaSet"
	Resource   func(cs *client.Clientset, namespace string) *client.Resource[T]
	Replicas   func(T) int32
	MinReady   func(T) int32
	Selector   func(T) (labels.Selector, error)
	Template   func(T) *corev1.PodTemplateSpec
	GetStatus  func(T) Status
	// WithStatus returns a copy of the object with the status set.
	WithStatus func(T, Status) T
}

// ReplicaSetKind is apps/v1 ReplicaSet.
var ReplicaSetKind = Kind[*appsv1.ReplicaSet]{
	Name: "replicaset", Component: "replicaset-controller", APIVersion: "apps/v1", KindName: "ReplicaSet",
	Resource: func(cs *client.Clientset, ns string) *client.Resource[*appsv1.ReplicaSet] { return cs.ReplicaSets(ns) },
	Replicas: func(rs *appsv1.ReplicaSet) int32 { return replicasOf(rs.GetSpec().Replicas) },
	MinReady: func(rs *appsv1.ReplicaSet) int32 { return rs.GetSpec().GetMinReadySeconds() },
	Selector: func(rs *appsv1.ReplicaSet) (labels.Selector, error) {
		return labels.SelectorFromLabelSelector(rs.GetSpec().GetSelector())
	},
	Template: func(rs *appsv1.ReplicaSet) *corev1.PodTemplateSpec { return rs.GetSpec().GetTemplate() },
	GetStatus: func(rs *appsv1.ReplicaSet) Status {
		s := rs.GetStatus()
		st := Status{Replicas: s.GetReplicas(), FullyLabeledReplicas: s.GetFullyLabeledReplicas(), ReadyReplicas: s.GetReadyReplicas(),
			AvailableReplicas: s.GetAvailableReplicas(), ObservedGeneration: s.GetObservedGeneration()}
		for _, c := range s.GetConditions() {
			if c.GetType() == ReplicaFailure && c.GetStatus() == "True" {
				st.FailureReason, st.FailureMessage = c.GetReason(), c.GetMessage()
			}
		}
		return st
	},
	WithStatus: func(rs *appsv1.ReplicaSet, s Status) *appsv1.ReplicaSet {
		rs = proto.Clone(rs).(*appsv1.ReplicaSet)
		if rs.Status == nil {
			rs.Status = &appsv1.ReplicaSetStatus{}
		}
		rs.Status.Replicas, rs.Status.FullyLabeledReplicas, rs.Status.ReadyReplicas = s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas
		rs.Status.AvailableReplicas, rs.Status.ObservedGeneration = s.AvailableReplicas, s.ObservedGeneration
		var kept []*appsv1.ReplicaSetCondition
		since := metav1.Now()
		for _, c := range rs.Status.Conditions {
			if c.GetType() != ReplicaFailure {
				kept = append(kept, c)
			} else if c.GetStatus() == "True" {
				since = c.GetLastTransitionTime() // still failing: keep when it started
			}
		}
		if s.FailureReason != "" {
			kept = append(kept, &appsv1.ReplicaSetCondition{Type: ReplicaFailure, Status: "True", Reason: s.FailureReason,
				Message: s.FailureMessage, LastTransitionTime: since})
		}
		rs.Status.Conditions = kept
		return rs
	},
}

// ReplicationControllerKind is core/v1 ReplicationController, whose selector is a plain
// label map.
var ReplicationControllerKind = Kind[*corev1.ReplicationController]{
	Name: "replicationcontroller", Component: "replicationcontroller-controller", APIVersion: "v1", KindName: "ReplicationController",
	Resource: func(cs *client.Clientset, ns string) *client.Resource[*corev1.ReplicationController] {
		return cs.ReplicationControllers(ns)
	},
	Replicas: func(rc *corev1.ReplicationController) int32 { return replicasOf(rc.GetSpec().Replicas) },
	MinReady: func(rc *corev1.ReplicationController) int32 { return rc.GetSpec().GetMinReadySeconds() },
	Selector: func(rc *corev1.ReplicationController) (labels.Selector, error) {
		sel := rc.GetSpec().GetSelector()
		if len(sel) == 0 {
			return labels.Nothing(), nil // an RC with no selector must not take every pod
		}
		return labels.ValidatedSelectorFromSet(labels.Set(sel))
	},
	Template: func(rc *corev1.ReplicationController) *corev1.PodTemplateSpec { return rc.GetSpec().GetTemplate() },
	GetStatus: func(rc *corev1.ReplicationController) Status {
		s := rc.GetStatus()
		st := Status{Replicas: s.GetReplicas(), FullyLabeledReplicas: s.GetFullyLabeledReplicas(), ReadyReplicas: s.GetReadyReplicas(),
			AvailableReplicas: s.GetAvailableReplicas(), ObservedGeneration: s.GetObservedGeneration()}
		for _, c := range s.GetConditions() {
			if c.GetType() == ReplicaFailure && c.GetStatus() == "True" {
				st.FailureReason, st.FailureMessage = c.GetReason(), c.GetMessage()
			}
		}
		return st
	},
	WithStatus: func(rc *corev1.ReplicationController, s Status) *corev1.ReplicationController {
		rc = proto.Clone(rc).(*corev1.ReplicationController)
		if rc.Status == nil {
			rc.Status = &corev1.ReplicationControllerStatus{}
		}
		rc.Status.Replicas, rc.Status.FullyLabeledReplicas, rc.Status.ReadyReplicas = s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas
		rc.Status.AvailableReplicas, rc.Status.ObservedGeneration = s.AvailableReplicas, s.ObservedGeneration
		var kept []*corev1.ReplicationControllerCondition
		since := metav1.Now()
		for _, c := range rc.Status.Conditions {
			if c.GetType() != ReplicaFailure {
				kept = append(kept, c)
			} else if c.GetStatus() == "True" {
				since = c.GetLastTransitionTime() // still failing: keep when it started
			}
		}
		if s.FailureReason != "" {
			kept = append(kept, &corev1.ReplicationControllerCondition{Type: ReplicaFailure, Status: "True", Reason: s.FailureReason,
				Message: s.FailureMessage, LastTransitionTime: since})
		}
		rc.Status.Conditions = kept
		return rc
	},
}

// replicasOf reads an optional replicas field; the apiserver defaults it to 1, so nil
// only happens for objects that bypassed defaulting.
func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}
