// Package configmap is the strategy of config maps: key syntax, a 1 MiB total, and no
// changes to the data of an immutable config map.
package configmap

import (
	"sort"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/scheme"
)

// MaxSize is the most bytes of data and binaryData together (upstream's MaxSecretSize,
// shared by config maps), which keeps an object well within etcd's request limit.
const MaxSize = 1 * 1024 * 1024

type strategy struct{ registry.Base }

// Strategy is the config maps' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var _ registry.Strategy = Strategy

// Validate checks a new config map.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateConfigMap(obj.(*corev1.ConfigMap))
}

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validation.ValidateObjectMeta(cm.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	total := 0
	data, binary := cm.GetData(), cm.GetBinaryData()
	for _, key := range sortedKeys(data) {
		p := field.NewPath("data").Key(key)
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p, key, msg))
		}
		if _, dup := binary[key]; dup {
			errs = append(errs, field.Invalid(p, key, "duplicate of key present in binaryData"))
		}
		total += len(data[key])
	}
	for _, key := range sortedKeys(binary) {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(key), key, msg))
		}
		total += len(binary[key])
	}
	if total > MaxSize {
		// Upstream reports the whole object: an empty path.
		errs = append(errs, field.TooLong(field.NewPath(""), "", MaxSize))
	}
	return errs
}

// ValidateUpdate checks an update: once immutable, a config map keeps its data and
// stays immutable.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	cm, oldCM := obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap)
	errs := validation.ValidateObjectMetaUpdate(cm.GetMetadata(), oldCM.GetMetadata(), field.NewPath("metadata"))
	if oldCM.GetImmutable() {
		const msg = "field is immutable when `immutable` is set"
		if !cm.GetImmutable() {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
		}
		if !validation.Equal(cm.GetData(), oldCM.GetData()) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msg))
		}
		if !validation.Equal(cm.GetBinaryData(), oldCM.GetBinaryData()) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), msg))
		}
	}
	return append(errs, validateConfigMap(cm)...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
