package validation

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// EqualMessages compares two messages the way upstream's semantic equality compares Go
// structs: an absent message equals an empty one at every depth (upstream has no way to
// tell a nil struct pointer it defaulted from an empty one sent by a client), while an
// optional scalar that is unset still differs from one set to zero (a nil *int64 is not
// 0 upstream either).
func EqualMessages(a, b proto.Message) bool {
	return len(diffMessages(reflectOf(a), reflectOf(b), "", 1)) == 0
}

// DiffMessages lists where new differs from old, one "path: old -> new" line per
// difference (at most 20), for messages such as a pod's "may not change fields" error.
// prefix is the path of the messages themselves ("spec").
func DiffMessages(oldMsg, newMsg proto.Message, prefix string) []string {
	return diffMessages(reflectOf(oldMsg), reflectOf(newMsg), prefix, 20)
}

func reflectOf(m proto.Message) protoreflect.Message {
	if m == nil || (reflect.ValueOf(m).Kind() == reflect.Pointer && reflect.ValueOf(m).IsNil()) {
		return nil
	}
	return m.ProtoReflect()
}

// diffMessages walks the fields of a and b (either may be nil: absent) and stops after
// limit differences.
func diffMessages(a, b protoreflect.Message, prefix string, limit int) []string {
	var out []string
	var desc protoreflect.MessageDescriptor
	switch {
	case a != nil:
		desc = a.Descriptor()
	case b != nil:
		desc = b.Descriptor()
	default:
		return nil
	}
	fds := desc.Fields()
	for i := 0; i < fds.Len() && len(out) < limit; i++ {
		fd := fds.Get(i)
		p := joinPath(prefix, fd.JSONName())
		has := func(m protoreflect.Message) bool { return m != nil && m.Has(fd) }
		switch {
		case fd.IsList():
			out = append(out, diffLists(listOf(a, fd), listOf(b, fd), fd, p, limit-len(out))...)
		case fd.IsMap():
			out = append(out, diffMaps(mapOf(a, fd), mapOf(b, fd), fd, p, limit-len(out))...)
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			var am, bm protoreflect.Message
			if has(a) {
				am = a.Get(fd).Message()
			}
			if has(b) {
				bm = b.Get(fd).Message()
			}
			out = append(out, diffMessages(am, bm, p, limit-len(out))...)
		default:
			av, bv := scalarOf(a, fd), scalarOf(b, fd)
			if fd.HasPresence() && has(a) != has(b) || !av.Equal(bv) {
				out = append(out, fmt.Sprintf("%s: %s -> %s", p, scalarText(a, fd), scalarText(b, fd)))
			}
		}
	}
	return out
}

func listOf(m protoreflect.Message, fd protoreflect.FieldDescriptor) protoreflect.List {
	if m == nil || !m.Has(fd) {
		return nil
	}
	return m.Get(fd).List()
}

func mapOf(m protoreflect.Message, fd protoreflect.FieldDescriptor) protoreflect.Map {
	if m == nil || !m.Has(fd) {
		return nil
	}
	return m.Get(fd).Map()
}

func scalarOf(m protoreflect.Message, fd protoreflect.FieldDescriptor) protoreflect.Value {
	if m == nil {
		return fd.Default()
	}
	return m.Get(fd)
}

func scalarText(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if fd.HasPresence() && (m == nil || !m.Has(fd)) {
		return "null"
	}
	return valueText(scalarOf(m, fd), fd)
}

func valueText(v protoreflect.Value, fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return strconv.Quote(v.String())
	case protoreflect.BytesKind:
		return fmt.Sprintf("%d bytes", len(v.Bytes()))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return jsonValue{v.Message().Interface()}.String()
	}
	return fmt.Sprint(v.Interface())
}

func diffLists(a, b protoreflect.List, fd protoreflect.FieldDescriptor, p string, limit int) []string {
	la, lb := 0, 0
	if a != nil {
		la = a.Len()
	}
	if b != nil {
		lb = b.Len()
	}
	if la != lb {
		return []string{fmt.Sprintf("%s: %s -> %s", p, listText(a, fd), listText(b, fd))}
	}
	var out []string
	for i := 0; i < la && len(out) < limit; i++ {
		ip := p + "[" + strconv.Itoa(i) + "]"
		if fd.Kind() == protoreflect.MessageKind {
			out = append(out, diffMessages(a.Get(i).Message(), b.Get(i).Message(), ip, limit-len(out))...)
		} else if !a.Get(i).Equal(b.Get(i)) {
			out = append(out, fmt.Sprintf("%s: %s -> %s", ip, valueText(a.Get(i), fd), valueText(b.Get(i), fd)))
		}
	}
	return out
}

func listText(l protoreflect.List, fd protoreflect.FieldDescriptor) string {
	if l == nil || l.Len() == 0 {
		return "[]"
	}
	s := "["
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			s += ","
		}
		s += valueText(l.Get(i), fd)
	}
	return s + "]"
}

func diffMaps(a, b protoreflect.Map, fd protoreflect.FieldDescriptor, p string, limit int) []string {
	keys := map[string]protoreflect.MapKey{}
	for _, m := range []protoreflect.Map{a, b} {
		if m == nil {
			continue
		}
		m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys[k.String()] = k
			return true
		})
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	vd := fd.MapValue()
	var out []string
	for _, name := range names {
		if len(out) >= limit {
			break
		}
		k := keys[name]
		kp := p + "[" + name + "]"
		var av, bv protoreflect.Value
		aok := a != nil && a.Has(k)
		bok := b != nil && b.Has(k)
		if aok {
			av = a.Get(k)
		}
		if bok {
			bv = b.Get(k)
		}
		if vd.Kind() == protoreflect.MessageKind {
			if aok != bok {
				out = append(out, fmt.Sprintf("%s: %s -> %s", kp, mapValueText(av, aok, vd), mapValueText(bv, bok, vd)))
				continue
			}
			out = append(out, diffMessages(av.Message(), bv.Message(), kp, limit-len(out))...)
			continue
		}
		if aok != bok || !av.Equal(bv) {
			out = append(out, fmt.Sprintf("%s: %s -> %s", kp, mapValueText(av, aok, vd), mapValueText(bv, bok, vd)))
		}
	}
	return out
}

func mapValueText(v protoreflect.Value, ok bool, fd protoreflect.FieldDescriptor) string {
	if !ok {
		return "null"
	}
	return valueText(v, fd)
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
