package client

import (
	appsv1 "kube5/proto/api/apps/v1"
	batchv1 "kube5/proto/api/batch/v1"
	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	policyv1 "kube5/proto/api/policy/v1"
)

// Shorthands for the built-in resources, as client-go's CoreV1().Pods(ns) and friends.
// Cluster-scoped resources take no namespace. Binding and Scale are reached through
// CreateSubresource("binding") on pods and Get/UpdateSubresource("scale").

// Pods accesses pods in namespace ("" = all namespaces for List and Watch).
func (c *Clientset) Pods(namespace string) *Resource[*corev1.Pod] {
	return For[*corev1.Pod](c, namespace)
}

// Services accesses services in namespace.
func (c *Clientset) Services(namespace string) *Resource[*corev1.Service] {
	return For[*corev1.Service](c, namespace)
}

// Endpoints accesses endpoints in namespace.
func (c *Clientset) Endpoints(namespace string) *Resource[*corev1.Endpoints] {
	return For[*corev1.Endpoints](c, namespace)
}

// Nodes accesses nodes.
func (c *Clientset) Nodes() *Resource[*corev1.Node] { return For[*corev1.Node](c, "") }

// Namespaces accesses namespaces.
func (c *Clientset) Namespaces() *Resource[*corev1.Namespace] {
	return For[*corev1.Namespace](c, "")
}

// ServiceAccounts accesses service accounts in namespace.
func (c *Clientset) ServiceAccounts(namespace string) *Resource[*corev1.ServiceAccount] {
	return For[*corev1.ServiceAccount](c, namespace)
}

// ReplicationControllers accesses replication controllers in namespace.
func (c *Clientset) ReplicationControllers(namespace string) *Resource[*corev1.ReplicationController] {
	return For[*corev1.ReplicationController](c, namespace)
}

// Events accesses events in namespace.
func (c *Clientset) Events(namespace string) *Resource[*corev1.Event] {
	return For[*corev1.Event](c, namespace)
}

// ConfigMaps accesses config maps in namespace.
func (c *Clientset) ConfigMaps(namespace string) *Resource[*corev1.ConfigMap] {
	return For[*corev1.ConfigMap](c, namespace)
}

// Secrets accesses secrets in namespace.
func (c *Clientset) Secrets(namespace string) *Resource[*corev1.Secret] {
	return For[*corev1.Secret](c, namespace)
}

// ComponentStatuses accesses component statuses.
func (c *Clientset) ComponentStatuses() *Resource[*corev1.ComponentStatus] {
	return For[*corev1.ComponentStatus](c, "")
}

// Deployments accesses apps/v1 deployments in namespace.
func (c *Clientset) Deployments(namespace string) *Resource[*appsv1.Deployment] {
	return For[*appsv1.Deployment](c, namespace)
}

// ReplicaSets accesses apps/v1 replica sets in namespace.
func (c *Clientset) ReplicaSets(namespace string) *Resource[*appsv1.ReplicaSet] {
	return For[*appsv1.ReplicaSet](c, namespace)
}

// Jobs accesses batch/v1 jobs in namespace.
func (c *Clientset) Jobs(namespace string) *Resource[*batchv1.Job] {
	return For[*batchv1.Job](c, namespace)
}

// PodDisruptionBudgets accesses policy/v1 pod disruption budgets in namespace.
func (c *Clientset) PodDisruptionBudgets(namespace string) *Resource[*policyv1.PodDisruptionBudget] {
	return For[*policyv1.PodDisruptionBudget](c, namespace)
}

// Leases accesses coordination.k8s.io/v1 leases in namespace.
func (c *Clientset) Leases(namespace string) *Resource[*coordinationv1.Lease] {
	return For[*coordinationv1.Lease](c, namespace)
}
