// Package componentstatus is the strategy of component statuses. They are computed on
// read from the components' health endpoints, never stored, so nothing is specific.
package componentstatus

import "kube5/apiserver/internal/registry"

// Strategy is the component statuses' (cluster-scoped) strategy.
var Strategy = registry.Base{Namespaced: false}

var _ registry.Strategy = Strategy
