package scheme

import (
	coordinationv1 "kube5/proto/api/coordination/v1"
)

// builtin lists the served resources, in the order of design.md §2. A new resource is one
// entry here plus one strategy in the apiserver's resource table.
func builtin() []*Resource {
	return []*Resource{
		{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Singular: "lease", Kind: "Lease", Namespaced: true,
			New: func() Object { return &coordinationv1.Lease{} }},
	}
}
