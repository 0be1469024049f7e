// Package secret is the strategy of secrets: type Opaque by default, stringData merged
// into data, key syntax, the 1 MiB total, the keys each well-known type requires, and an
// immutable type (and data, once immutable).
package secret

import (
	"encoding/json"
	"sort"

	"kube5/apiserver/internal/registry"
	"kube5/apiserver/internal/validation"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors/field"
	"kube5/proto/fields"
	"kube5/proto/scheme"
)

// MaxSize is the most bytes of data a secret may hold.
const MaxSize = 1 * 1024 * 1024

// The well-known secret types and the keys they require.
const (
	TypeOpaque              = "Opaque"
	TypeServiceAccountToken = "kubernetes.io/service-account-token"
	TypeDockercfg           = "kubernetes.io/dockercfg"
	TypeDockerConfigJSON    = "kubernetes.io/dockerconfigjson"
	TypeBasicAuth           = "kubernetes.io/basic-auth"
	TypeSSHAuth             = "kubernetes.io/ssh-auth"
	TypeTLS                 = "kubernetes.io/tls"

	ServiceAccountNameKey = "kubernetes.io/service-account.name"
	DockerConfigKey       = ".dockercfg"
	DockerConfigJSONKey   = ".dockerconfigjson"
	BasicAuthUsernameKey  = "username"
	BasicAuthPasswordKey  = "password"
	SSHAuthPrivateKey     = "ssh-privatekey"
	TLSCertKey            = "tls.crt"
	TLSPrivateKeyKey      = "tls.key"
)

type strategy struct{ registry.Base }

// Strategy is the secrets' strategy.
var Strategy = strategy{registry.Base{Namespaced: true}}

var _ registry.Strategy = Strategy

// Default sets type Opaque and folds the write-only stringData into data, as upstream's
// v1 conversion does (stringData wins over data for the same key).
func (strategy) Default(obj scheme.Object) {
	s := obj.(*corev1.Secret)
	if s.Type == "" {
		s.Type = TypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// Validate checks a new secret.
func (strategy) Validate(obj scheme.Object) field.ErrorList {
	return validateSecret(obj.(*corev1.Secret))
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	errs := validation.ValidateObjectMeta(s.GetMetadata(), true, validation.NameIsDNSSubdomain, field.NewPath("metadata"))
	dataPath := field.NewPath("data")
	data := s.GetData()
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	total := 0
	for _, k := range keys {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(dataPath.Key(k), k, msg))
		}
		total += len(data[k])
	}
	if total > MaxSize {
		errs = append(errs, field.TooLong(dataPath, "", MaxSize))
	}
	has := func(k string) bool { _, ok := data[k]; return ok }
	switch s.GetType() {
	case TypeServiceAccountToken:
		if s.GetMetadata().GetAnnotations()[ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(ServiceAccountNameKey), ""))
		}
	case TypeDockercfg, TypeDockerConfigJSON:
		key := DockerConfigKey
		if s.GetType() == TypeDockerConfigJSON {
			key = DockerConfigJSONKey
		}
		if !has(key) {
			errs = append(errs, field.Required(dataPath.Key(key), ""))
			break
		}
		if err := json.Unmarshal(data[key], &map[string]any{}); err != nil {
			errs = append(errs, field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error()))
		}
	case TypeBasicAuth:
		// Either may be empty, but one must be there.
		if !has(BasicAuthUsernameKey) && !has(BasicAuthPasswordKey) {
			errs = append(errs, field.Required(dataPath.Key(BasicAuthUsernameKey), ""))
			errs = append(errs, field.Required(dataPath.Key(BasicAuthPasswordKey), ""))
		}
	case TypeSSHAuth:
		if len(data[SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(SSHAuthPrivateKey), ""))
		}
	case TypeTLS:
		if !has(TLSCertKey) {
			errs = append(errs, field.Required(dataPath.Key(TLSCertKey), ""))
		}
		if !has(TLSPrivateKeyKey) {
			errs = append(errs, field.Required(dataPath.Key(TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// ValidateUpdate checks an update: the type never changes; once immutable, the data
// neither.
func (strategy) ValidateUpdate(obj, old scheme.Object) field.ErrorList {
	s, oldS := obj.(*corev1.Secret), old.(*corev1.Secret)
	errs := validation.ValidateObjectMetaUpdate(s.GetMetadata(), oldS.GetMetadata(), field.NewPath("metadata"))
	errs = append(errs, validation.ValidateImmutableField(s.GetType(), oldS.GetType(), field.NewPath("type"))...)
	if oldS.GetImmutable() {
		const msg = "field is immutable when `immutable` is set"
		if !s.GetImmutable() {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
		}
		if !validation.Equal(s.GetData(), oldS.GetData()) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msg))
		}
	}
	return append(errs, validateSecret(s)...)
}

// Fields adds type (the service account controller selects token secrets by it).
func (st strategy) Fields(obj scheme.Object) fields.Set {
	set := st.Base.Fields(obj)
	set["type"] = obj.(*corev1.Secret).GetType()
	return set
}
