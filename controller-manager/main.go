// Command kube-controller-manager runs the controllers that drive the cluster toward the
// state its objects describe (deployments, replica sets, nodes, endpoints, ...).
package main

import (
	"os"

	"kube5/controller-manager/app"
)

func main() { os.Exit(app.NewCommand()) }
