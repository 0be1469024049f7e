// Command kube-scheduler assigns pods to nodes.
package main

import (
	"os"

	"kube5/scheduler/app"
)

func main() { os.Exit(app.NewCommand()) }
