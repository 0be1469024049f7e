// Package builtin lists the strategy of every built-in resource, for the apiserver's
// resource table.
package builtin

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/registry/componentstatus"
	"kube5/apiserver/internal/registry/configmap"
	"kube5/apiserver/internal/registry/deployment"
	"kube5/apiserver/internal/registry/endpoints"
	"kube5/apiserver/internal/registry/event"
	"kube5/apiserver/internal/registry/job"
	"kube5/apiserver/internal/registry/lease"
	"kube5/apiserver/internal/registry/namespace"
	"kube5/apiserver/internal/registry/node"
	"kube5/apiserver/internal/registry/pod"
	"kube5/apiserver/internal/registry/poddisruptionbudget"
	"kube5/apiserver/internal/registry/replicaset"
	"kube5/apiserver/internal/registry/replicationcontroller"
	"kube5/apiserver/internal/registry/secret"
	"kube5/apiserver/internal/registry/service"
	"kube5/apiserver/internal/registry/serviceaccount"
)

// Strategies returns the strategies keyed "group/resource" as scheme.ByGroupResource
// keys them: "/pods" for core, "apps/deployments". Each call builds a new map, so a
// caller may change its copy (wrap a strategy with hooks) freely.
func Strategies() map[string]registry.Strategy {
	return map[string]registry.Strategy{
		"/pods":                       pod.Strategy,
		"/services":                   service.Strategy,
		"/endpoints":                  endpoints.Strategy,
		"/nodes":                      node.Strategy,
		"/namespaces":                 namespace.Strategy,
		"/serviceaccounts":            serviceaccount.Strategy,
		"/replicationcontrollers":     replicationcontroller.Strategy,
		"/events":                     event.Strategy,
		"/configmaps":                 configmap.Strategy,
		"/secrets":                    secret.Strategy,
		"/componentstatuses":          componentstatus.Strategy,
		"apps/deployments":            deployment.Strategy,
		"apps/replicasets":            replicaset.Strategy,
		"batch/jobs":                  job.Strategy,
		"coordination.k8s.io/leases":  lease.Strategy,
		"policy/poddisruptionbudgets": poddisruptionbudget.Strategy,
	}
}
