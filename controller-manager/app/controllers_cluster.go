package app

import (
	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/disruption"
	"kube5/controller-manager/internal/controller/endpoints"
	"kube5/controller-manager/internal/controller/garbagecollector"
	"kube5/controller-manager/internal/controller/job"
	"kube5/controller-manager/internal/controller/namespace"
	"kube5/controller-manager/internal/controller/nodeipam"
	"kube5/controller-manager/internal/controller/nodelifecycle"
	"kube5/controller-manager/internal/controller/podgc"
	"kube5/controller-manager/internal/controller/serviceaccount"
	"kube5/controller-manager/internal/controller/ttlafterfinished"
)

// clusterControllers are the controllers of the cluster's plumbing, by upstream's
// --controllers names.
var clusterControllers = map[string]controller.Constructor{
	"disruption":         disruption.New,
	"endpoint":           endpoints.New,
	"garbagecollector":   garbagecollector.New,
	"job":                job.New,
	"namespace":          namespace.New,
	"nodeipam":           nodeipam.New,
	"nodelifecycle":      nodelifecycle.New,
	"podgc":              podgc.New,
	"serviceaccount":     serviceaccount.New,
	"ttl-after-finished": ttlafterfinished.New,
}
