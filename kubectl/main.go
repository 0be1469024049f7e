// Command kubectl is kube5's kubectl: upstream's commands, flags and output.
package main

import (
	"os"

	"kube5/kubectl/cmd"
)

func main() { os.Exit(cmd.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
