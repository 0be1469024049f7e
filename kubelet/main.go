// Command kubelet runs the pods bound to this node on the local Docker, registers the
// node and keeps its status, and serves logs, exec and stats (design.md §5).
package main

import (
	"os"

	"kube5/kubelet/app"
)

func main() { os.Exit(app.NewCommand()) }
