package generic

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"kube5/proto/scheme"
)

// shape is what the generic store learns about a resource's message by reflection: whether
// it has a spec (generation is bumped on spec changes only) and a status (split off into
// the status subresource).
type shape struct {
	spec, status protoreflect.FieldDescriptor
}

func shapeOf(obj scheme.Object) shape {
	fds := obj.ProtoReflect().Descriptor().Fields()
	return shape{spec: fds.ByName("spec"), status: fds.ByName("status")}
}

// copyField sets dst.f to src.f (or clears it when src has none).
func copyField(dst, src scheme.Object, f protoreflect.FieldDescriptor) {
	if f == nil {
		return
	}
	s, d := src.ProtoReflect(), dst.ProtoReflect()
	if s.Has(f) {
		d.Set(f, protoreflect.ValueOfMessage(proto.Clone(s.Get(f).Message().Interface()).ProtoReflect()))
	} else {
		d.Clear(f)
	}
}

// sameField reports whether a.f and b.f are equal (both absent counts as equal; an empty
// message equals an absent one, as upstream's semantic equality treats {} and nil).
func sameField(a, b scheme.Object, f protoreflect.FieldDescriptor) bool {
	if f == nil {
		return true
	}
	am, bm := a.ProtoReflect(), b.ProtoReflect()
	var x, y proto.Message
	if am.Has(f) {
		x = am.Get(f).Message().Interface()
	}
	if bm.Has(f) {
		y = bm.Get(f).Message().Interface()
	}
	if x == nil || y == nil {
		return (x == nil || proto.Size(x) == 0) && (y == nil || proto.Size(y) == 0)
	}
	return proto.Equal(x, y)
}
