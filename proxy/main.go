// Command kube-proxy makes Services work on a node: iptables (or userspace) proxying of
// ClusterIPs and NodePorts, and the routes of the pod network.
package main

import (
	"os"

	"kube5/proxy/app"
)

func main() { os.Exit(app.NewCommand()) }
