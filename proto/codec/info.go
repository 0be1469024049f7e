package codec

import (
	"sort"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// special marks the meta messages that upstream renders as scalars.
type special uint8

const (
	plain special = iota
	specialTime
	specialMicroTime
	specialQuantity
	specialIntOrString
)

var specials = map[protoreflect.FullName]special{
	"kube5.meta.v1.Time":        specialTime,
	"kube5.meta.v1.MicroTime":   specialMicroTime,
	"kube5.meta.v1.Quantity":    specialQuantity,
	"kube5.meta.v1.IntOrString": specialIntOrString,
}

// typeMetaFirst lists the messages standing for upstream types that embed TypeMeta
// (JSON order kind, apiVersion) while carrying those fields themselves. OwnerReference and
// the like keep their field order, as upstream does.
var typeMetaFirst = map[protoreflect.FullName]bool{
	"kube5.meta.v1.Status":        true,
	"kube5.meta.v1.DeleteOptions": true,
	"kube5.meta.v1.TypeMeta":      true,
}

// msgInfo is the per-message table both directions use, built once per descriptor.
type msgInfo struct {
	desc    protoreflect.MessageDescriptor
	special special
	// fields in output order: by field number, except that the messages that embed
	// upstream's TypeMeta write kind then apiVersion first, as upstream does.
	fields []*fieldInfo
	byName map[string]*fieldInfo
	// hasTypeMeta: the message stores apiVersion and kind itself (Status, DeleteOptions).
	hasTypeMeta bool
	// For the specials: their fields by number.
	f1, f2, f3 protoreflect.FieldDescriptor
}

type fieldInfo struct {
	fd protoreflect.FieldDescriptor
	// always: written even when zero (upstream's field has no omitempty).
	always bool
	name   string // JSON name
	key    []byte // `"name":`, pre-rendered
	// elem describes the singular value: the field itself, a list element or a map value.
	elem protoreflect.FieldDescriptor
	// sub is the msgInfo of elem's message type, resolved on first use because message
	// types may be recursive.
	sub atomic.Pointer[msgInfo]
}

func (f *fieldInfo) subInfo() *msgInfo {
	if mi := f.sub.Load(); mi != nil {
		return mi
	}
	mi := infoFor(f.elem.Message())
	f.sub.Store(mi)
	return mi
}

var infos sync.Map // protoreflect.FullName -> *msgInfo

// alwaysEmit lists the scalar fields upstream writes even when zero (no omitempty in its
// Go types): proto3 cannot tell 0 from unset, and without these `kubectl get rs -o
// jsonpath={.status.replicas}` would print "" where upstream prints 0, and a container that
// exited 0 would have no exitCode.
var alwaysEmit = map[protoreflect.FullName]map[string]bool{
	"kube5.apps.v1.ReplicaSetStatus":            {"replicas": true},
	"kube5.core.v1.ReplicationControllerStatus": {"replicas": true},
	"kube5.autoscaling.v1.ScaleStatus":          {"replicas": true},
	"kube5.core.v1.ContainerStatus":             {"name": true, "ready": true, "restartCount": true, "image": true, "imageID": true},
	"kube5.core.v1.ContainerStateTerminated":    {"exitCode": true},
	"kube5.core.v1.EndpointPort":                {"port": true},
	"kube5.policy.v1.PodDisruptionBudgetStatus": {"disruptionsAllowed": true, "currentHealthy": true, "desiredHealthy": true, "expectedPods": true},
	"kube5.policy.v1.Condition":                 {"type": true, "status": true, "reason": true, "message": true},
	"kube5.core.v1.NodeSystemInfo": {"machineID": true, "systemUUID": true, "bootID": true, "kernelVersion": true, "osImage": true,
		"containerRuntimeVersion": true, "kubeletVersion": true, "kubeProxyVersion": true, "operatingSystem": true, "architecture": true},
}

func infoFor(md protoreflect.MessageDescriptor) *msgInfo {
	if v, ok := infos.Load(md.FullName()); ok {
		return v.(*msgInfo)
	}
	mi := buildInfo(md)
	v, _ := infos.LoadOrStore(md.FullName(), mi)
	return v.(*msgInfo)
}

func buildInfo(md protoreflect.MessageDescriptor) *msgInfo {
	mi := &msgInfo{desc: md, special: specials[md.FullName()], byName: map[string]*fieldInfo{}}
	fds := md.Fields()
	mi.f1, mi.f2, mi.f3 = fds.ByNumber(1), fds.ByNumber(2), fds.ByNumber(3)
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		fi := &fieldInfo{fd: fd, name: fd.JSONName(), elem: fd, always: alwaysEmit[md.FullName()][fd.JSONName()]}
		if fd.IsMap() {
			fi.elem = fd.MapValue()
		}
		fi.key = append(appendString(nil, fi.name), ':')
		mi.fields = append(mi.fields, fi)
		mi.byName[fi.name] = fi
	}
	rank := func(f *fieldInfo) int {
		if typeMetaFirst[md.FullName()] {
			switch f.name {
			case "kind":
				return -2
			case "apiVersion":
				return -1
			}
		}
		return int(f.fd.Number())
	}
	sort.SliceStable(mi.fields, func(i, j int) bool { return rank(mi.fields[i]) < rank(mi.fields[j]) })
	_, k := mi.byName["kind"]
	_, a := mi.byName["apiVersion"]
	mi.hasTypeMeta = k && a
	return mi
}
