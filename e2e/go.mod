module kube5/e2e

go 1.26.0

require (
	golang.org/x/sys v0.48.0
	kube5/proto v0.0.0
)

replace kube5/proto => ../proto
