// Package serviceaccount is the strategy of service accounts: metadata validation only,
// as upstream.
package serviceaccount

import (
	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

type strategy struct{ registry.Base }

// Strategy is the service accounts' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var _ registry.Strategy = Strategy

// Validate checks a new service account.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validation.ValidateObjectMeta(obj.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

// ValidateUpdate checks an update.
func (s strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	sa, oldSA := obj.(*corev1.ServiceAccount), old.(*corev1.ServiceAccount)
	errs := validation.ValidateObjectMetaUpdate(sa.GetMetadata(), oldSA.GetMetadata(), field.NewPath("metadata"))
	return append(errs, s.Validate(sa)...)
}
