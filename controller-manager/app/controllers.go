package app

import (
	"kube5/controller-manager/internal/controller"
	"kube5/controller-manager/internal/controller/deployment"
	"kube5/controller-manager/internal/controller/replicaset"
)

// workloadControllers are the controllers of pods' owners, by upstream's --controllers
// names. The cluster controllers are in controllers_cluster.go; the app runs the union
// (Controllers), so the two sets are registered without touching each other's file.
var workloadControllers = map[string]controller.Constructor{
	"deployment":            deployment.New,
	"replicaset":            replicaset.NewReplicaSet,
	"replicationcontroller": replicaset.NewReplicationController,
}
