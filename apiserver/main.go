// Command kube-apiserver serves the kube5 API (gRPC and REST on one port) on etcd.
package main

import (
	"os"

	"kube5/apiserver/app"
)

func main() { os.Exit(app.NewCommand()) }
