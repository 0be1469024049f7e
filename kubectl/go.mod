module kube5/kubectl

go 1.26.0

require kube5/proto v0.0.0

replace kube5/proto => ../proto
