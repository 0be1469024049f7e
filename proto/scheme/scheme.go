// Package scheme is the one list of the API's resources every binary shares: group,
// version, plural, kind, short names, scope and the Go type of each. The apiserver's
// resource table adds a strategy to each entry; the typed client, informers and kubectl
// look resources up here. Lists have no proto messages of their own: the wire carries
// repeated encoded items, and the JSON codec writes upstream's <Kind>List envelope.
package scheme

import (
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "kube5/proto/api/meta/v1"
)

// Object is every top-level API object: a proto message with ObjectMeta in field 1.
type Object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// Resource describes one served resource.
type Resource struct {
	Group      string // "" for core
	Version    string // "v1"
	Resource   string // plural, lower case: "pods"
	Singular   string // "pod"
	Kind       string // "Pod"
	ShortNames []string
	Namespaced bool
	// New returns an empty object of the resource's Go type.
	New func() Object
}

// GroupVersion is "v1" for core and "apps/v1" otherwise, as in apiVersion.
func (r *Resource) GroupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// GroupResource is "pods" or "deployments.apps", as upstream prints it in messages.
func (r *Resource) GroupResource() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// MessageName is the proto full name of the resource's Go type.
func (r *Resource) MessageName() protoreflect.FullName {
	return r.New().ProtoReflect().Descriptor().FullName()
}

// The indexes over builtin(), built once at package initialisation.
var (
	all       = builtin()
	byGR      = map[string]*Resource{} // "apps/deployments"
	byGVK     = map[string]*Resource{} // "apps/v1/Deployment"
	byMessage = map[protoreflect.FullName]*Resource{}
	_         = index()
)

func index() bool {
	for _, r := range all {
		if r.Resource != "" {
			byGR[r.Group+"/"+r.Resource] = r
		}
		byGVK[r.GroupVersion()+"/"+r.Kind] = r
		byMessage[r.MessageName()] = r
	}
	return true
}

// All returns every served resource (collections only), sorted by group then plural.
func All() []*Resource {
	var out []*Resource
	for _, r := range all {
		if r.Resource != "" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// ByGroupResource finds a resource by group ("" for core) and plural.
func ByGroupResource(group, resource string) (*Resource, bool) {
	r, ok := byGR[group+"/"+resource]
	return r, ok
}

// ByKind finds a resource by apiVersion ("v1", "apps/v1") and kind.
func ByKind(apiVersion, kind string) (*Resource, bool) {
	r, ok := byGVK[apiVersion+"/"+kind]
	return r, ok
}

// For finds the resource of an object's Go type.
func For(obj proto.Message) (*Resource, bool) {
	r, ok := byMessage[obj.ProtoReflect().Descriptor().FullName()]
	return r, ok
}

// Lookup resolves what a user types (kubectl get X): plural, singular, short name or kind,
// any case, optionally qualified by group ("deployments.apps").
func Lookup(name string) (*Resource, bool) {
	name = strings.ToLower(name)
	group := ""
	qualified := false
	if i := strings.Index(name, "."); i >= 0 {
		name, group, qualified = name[:i], name[i+1:], true
	}
	for _, r := range All() {
		if qualified && r.Group != group {
			continue
		}
		if name == r.Resource || name == r.Singular || name == strings.ToLower(r.Kind) {
			return r, true
		}
		for _, s := range r.ShortNames {
			if name == s {
				return r, true
			}
		}
	}
	return nil, false
}
