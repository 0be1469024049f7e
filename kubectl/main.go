// Command kubectl is not built yet: its issue comes after the API (issue 2).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "kubectl: not implemented yet in kube5; see the project's open issues")
	os.Exit(1)
}
