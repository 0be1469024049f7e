module kube5/controller-manager

go 1.26.0

require kube5/proto v0.0.0

replace kube5/proto => ../proto
