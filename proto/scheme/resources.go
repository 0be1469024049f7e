package scheme

import (
	appsv1 "kube5/proto/api/apps/v1"
	autoscalingv1 "kube5/proto/api/autoscaling/v1"
	batchv1 "kube5/proto/api/batch/v1"
	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	policyv1 "kube5/proto/api/policy/v1"
)

// builtin lists the served resources, in the order of design.md §2. A new resource is one
// entry here plus one strategy in the apiserver's resource table. Entries with an empty
// Resource are kinds without a collection of their own (subresource bodies such as Scale):
// the codec needs their apiVersion and kind, nothing serves them as a collection.
func builtin() []*Resource {
	return []*Resource{
		{Version: "v1", Resource: "pods", Singular: "pod", Kind: "Pod", ShortNames: []string{"po"}, Namespaced: true,
			New: func() Object { return &corev1.Pod{} }},
		{Version: "v1", Resource: "services", Singular: "service", Kind: "Service", ShortNames: []string{"svc"}, Namespaced: true,
			New: func() Object { return &corev1.Service{} }},
		{Version: "v1", Resource: "endpoints", Singular: "endpoints", Kind: "Endpoints", ShortNames: []string{"ep"}, Namespaced: true,
			New: func() Object { return &corev1.Endpoints{} }},
		{Version: "v1", Resource: "nodes", Singular: "node", Kind: "Node", ShortNames: []string{"no"},
			New: func() Object { return &corev1.Node{} }},
		{Version: "v1", Resource: "namespaces", Singular: "namespace", Kind: "Namespace", ShortNames: []string{"ns"},
			New: func() Object { return &corev1.Namespace{} }},
		{Version: "v1", Resource: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", ShortNames: []string{"sa"}, Namespaced: true,
			New: func() Object { return &corev1.ServiceAccount{} }},
		{Version: "v1", Resource: "replicationcontrollers", Singular: "replicationcontroller", Kind: "ReplicationController", ShortNames: []string{"rc"}, Namespaced: true,
			New: func() Object { return &corev1.ReplicationController{} }},
		{Version: "v1", Resource: "events", Singular: "event", Kind: "Event", ShortNames: []string{"ev"}, Namespaced: true,
			New: func() Object { return &corev1.Event{} }},
		{Version: "v1", Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap", ShortNames: []string{"cm"}, Namespaced: true,
			New: func() Object { return &corev1.ConfigMap{} }},
		{Version: "v1", Resource: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true,
			New: func() Object { return &corev1.Secret{} }},
		{Version: "v1", Resource: "bindings", Singular: "binding", Kind: "Binding", Namespaced: true,
			New: func() Object { return &corev1.Binding{} }},
		{Version: "v1", Resource: "componentstatuses", Singular: "componentstatus", Kind: "ComponentStatus", ShortNames: []string{"cs"},
			New: func() Object { return &corev1.ComponentStatus{} }},
		{Group: "apps", Version: "v1", Resource: "deployments", Singular: "deployment", Kind: "Deployment", ShortNames: []string{"deploy"}, Namespaced: true,
			New: func() Object { return &appsv1.Deployment{} }},
		{Group: "apps", Version: "v1", Resource: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", ShortNames: []string{"rs"}, Namespaced: true,
			New: func() Object { return &appsv1.ReplicaSet{} }},
		{Group: "batch", Version: "v1", Resource: "jobs", Singular: "job", Kind: "Job", Namespaced: true,
			New: func() Object { return &batchv1.Job{} }},
		{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Singular: "lease", Kind: "Lease", Namespaced: true,
			New: func() Object { return &coordinationv1.Lease{} }},
		{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets", Singular: "poddisruptionbudget", Kind: "PodDisruptionBudget", ShortNames: []string{"pdb"}, Namespaced: true,
			New: func() Object { return &policyv1.PodDisruptionBudget{} }},
		{Group: "autoscaling", Version: "v1", Kind: "Scale", Namespaced: true,
			New: func() Object { return &autoscalingv1.Scale{} }},
		{Group: "policy", Version: "v1", Kind: "Eviction", Namespaced: true,
			New: func() Object { return &policyv1.Eviction{} }},
	}
}
