package codec

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "kube5/proto/api/meta/v1"
)

// typeMeta receives apiVersion and kind of a top-level object whose message does not
// store them.
type typeMeta struct{ apiVersion, kind string }

// document decodes a whole JSON text into m.
func (d *decoder) document(m protoreflect.Message, mi *msgInfo, tm *typeMeta) error {
	d.ws()
	if d.pos >= len(d.data) {
		return d.syntax("empty document")
	}
	var err error
	switch {
	case mi.special != plain:
		_, err = d.special(m, mi)
	case d.peek() != '{':
		err = d.mismatch("an object")
	default:
		err = d.message(m, mi, tm)
	}
	if err != nil {
		return err
	}
	d.ws()
	if d.pos < len(d.data) {
		return d.syntax("invalid character after the top-level value")
	}
	if len(d.errs) > 0 {
		return d.errs
	}
	return nil
}

// message decodes the object at d.pos (the caller checked the '{') into m.
func (d *decoder) message(m protoreflect.Message, mi *msgInfo, tm *typeMeta) error {
	if err := d.open(); err != nil {
		return err
	}
	n := 0
	for {
		key, more, err := d.nextMember(&n)
		if err != nil || !more {
			return err
		}
		f := mi.byName[string(key)]
		if f == nil {
			if tm != nil && !mi.hasTypeMeta && (string(key) == "apiVersion" || string(key) == "kind") {
				if err := d.typeMetaValue(string(key), tm); err != nil {
					return err
				}
				continue
			}
			mark := d.pushField(key)
			d.addError(&FieldError{Path: string(d.path), Unknown: true})
			d.pop(mark)
			if err := d.skipValue(); err != nil {
				return err
			}
			continue
		}
		mark := d.pushField(key)
		err = d.field(m, f)
		d.pop(mark)
		if err != nil {
			return err
		}
	}
}

func (d *decoder) typeMetaValue(key string, tm *typeMeta) error {
	mark := d.pushField([]byte(key))
	defer d.pop(mark)
	switch d.peek() {
	case 'n':
		return d.literal("null")
	case '"':
		s, err := d.readString()
		if key == "kind" {
			tm.kind = string(s)
		} else {
			tm.apiVersion = string(s)
		}
		return err
	}
	return d.mismatch("a string")
}

// field decodes the value of one known field; null clears it, the last duplicate wins.
func (d *decoder) field(m protoreflect.Message, f *fieldInfo) error {
	if d.peek() == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		m.Clear(f.fd)
		return nil
	}
	switch {
	case f.fd.IsList():
		return d.list(m, f)
	case f.fd.IsMap():
		return d.mapField(m, f)
	}
	var nv protoreflect.Value
	if f.elem.Message() != nil {
		nv = m.NewField(f.fd)
	}
	v, ok, err := d.value(f, nv)
	if ok && err == nil {
		m.Set(f.fd, v)
	}
	return err
}

func (d *decoder) list(m protoreflect.Message, f *fieldInfo) error {
	if d.peek() != '[' {
		return d.mismatch("an array")
	}
	m.Clear(f.fd)
	l := m.Mutable(f.fd).List()
	if err := d.open(); err != nil {
		return err
	}
	n := 0
	for i := 0; ; i++ {
		more, err := d.nextElement(&n)
		if err != nil || !more {
			return err
		}
		var nv protoreflect.Value
		if f.elem.Message() != nil {
			nv = l.NewElement()
		}
		mark := d.pushIndex(i)
		v, ok, err := d.elemValue(f, nv)
		d.pop(mark)
		if err != nil {
			return err
		}
		if ok {
			l.Append(v)
		}
	}
}

func (d *decoder) mapField(m protoreflect.Message, f *fieldInfo) error {
	if d.peek() != '{' {
		return d.mismatch("an object")
	}
	m.Clear(f.fd)
	mp := m.Mutable(f.fd).Map()
	if err := d.open(); err != nil {
		return err
	}
	n := 0
	for {
		key, more, err := d.nextMember(&n)
		if err != nil || !more {
			return err
		}
		ks := string(key)
		mark := d.pushKey(ks)
		mk, keyOK := d.mapKey(f.fd.MapKey(), ks)
		var nv protoreflect.Value
		if f.elem.Message() != nil {
			nv = mp.NewValue()
		}
		v, ok, err := d.elemValue(f, nv)
		d.pop(mark)
		if err != nil {
			return err
		}
		if ok && keyOK {
			mp.Set(mk, v)
		}
	}
}

func (d *decoder) mapKey(kfd protoreflect.FieldDescriptor, s string) (protoreflect.MapKey, bool) {
	var v protoreflect.Value
	var err error
	switch kfd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s).MapKey(), true
	case protoreflect.BoolKind:
		var b bool
		b, err = strconv.ParseBool(s)
		v = protoreflect.ValueOfBool(b)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		var i int64
		i, err = strconv.ParseInt(s, 10, 32)
		v = protoreflect.ValueOfInt32(int32(i))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var i int64
		i, err = strconv.ParseInt(s, 10, 64)
		v = protoreflect.ValueOfInt64(i)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		var u uint64
		u, err = strconv.ParseUint(s, 10, 32)
		v = protoreflect.ValueOfUint32(uint32(u))
	default:
		var u uint64
		u, err = strconv.ParseUint(s, 10, 64)
		v = protoreflect.ValueOfUint64(u)
	}
	if err != nil {
		d.fail(fmt.Sprintf("invalid map key %s: expected %v", quoteShort([]byte(s)), kfd.Kind()))
		return protoreflect.MapKey{}, false
	}
	return v.MapKey(), true
}

// elemValue decodes a list element or map value; null there is the zero value, as
// encoding/json leaves it.
func (d *decoder) elemValue(f *fieldInfo, nv protoreflect.Value) (protoreflect.Value, bool, error) {
	if d.peek() != 'n' {
		return d.value(f, nv)
	}
	if err := d.literal("null"); err != nil {
		return nv, false, err
	}
	if f.elem.Message() == nil {
		return f.elem.Default(), true, nil
	}
	if mi := f.subInfo(); mi.special == specialQuantity {
		// Upstream's null Quantity is zero, and "0" is how zero reads back.
		nv.Message().Set(mi.f1, protoreflect.ValueOfString("0"))
	}
	return nv, true, nil
}

// value decodes a non-null singular value of f.elem's type; nv is a new empty message
// for message types. ok is false when a field error was recorded instead.
func (d *decoder) value(f *fieldInfo, nv protoreflect.Value) (protoreflect.Value, bool, error) {
	fd := f.elem
	switch kind := fd.Kind(); kind {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		mi := f.subInfo()
		if mi.special != plain {
			ok, err := d.special(nv.Message(), mi)
			return nv, ok, err
		}
		if d.peek() != '{' {
			return nv, false, d.mismatch("an object")
		}
		return nv, true, d.message(nv.Message(), mi, nil)
	case protoreflect.StringKind:
		if d.peek() != '"' {
			return protoreflect.Value{}, false, d.mismatch("a string")
		}
		s, err := d.readString()
		return protoreflect.ValueOfString(string(s)), true, err
	case protoreflect.BoolKind:
		switch d.peek() {
		case 't':
			return protoreflect.ValueOfBool(true), true, d.literal("true")
		case 'f':
			return protoreflect.ValueOfBool(false), true, d.literal("false")
		}
		return protoreflect.Value{}, false, d.mismatch("a boolean")
	case protoreflect.BytesKind:
		if d.peek() != '"' {
			return protoreflect.Value{}, false, d.mismatch("a base64 string")
		}
		s, err := d.readString()
		if err != nil {
			return protoreflect.Value{}, false, err
		}
		b, berr := base64.StdEncoding.DecodeString(string(s))
		if berr != nil {
			d.fail("expected a base64 string: " + berr.Error())
			return protoreflect.Value{}, false, nil
		}
		return protoreflect.ValueOfBytes(b), true, nil
	case protoreflect.EnumKind:
		if d.peek() == '"' {
			s, err := d.readString()
			if err != nil {
				return protoreflect.Value{}, false, err
			}
			if ev := fd.Enum().Values().ByName(protoreflect.Name(s)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), true, nil
			}
			d.fail("unsupported value: " + quoteShort(s))
			return protoreflect.Value{}, false, nil
		}
		return d.number(protoreflect.Int32Kind)
	}
	return d.number(fd.Kind())
}

// number decodes a JSON number into a numeric kind: integers must be written as integers
// and fit the field.
func (d *decoder) number(kind protoreflect.Kind) (protoreflect.Value, bool, error) {
	isFloat := kind == protoreflect.FloatKind || kind == protoreflect.DoubleKind
	if c := d.peek(); c != '-' && !isDigit(c) {
		if isFloat {
			return protoreflect.Value{}, false, d.mismatch("a number")
		}
		return protoreflect.Value{}, false, d.mismatch("an integer")
	}
	lit, err := d.readNumber()
	if err != nil {
		return protoreflect.Value{}, false, err
	}
	s := string(lit)
	var v protoreflect.Value
	var perr error
	bits := "int32"
	switch kind {
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		size := 64
		if kind == protoreflect.FloatKind {
			size = 32
		}
		f, ferr := strconv.ParseFloat(s, size)
		if ferr != nil {
			d.fail("number " + s + " is out of range")
			return v, false, nil
		}
		if size == 32 {
			return protoreflect.ValueOfFloat32(float32(f)), true, nil
		}
		return protoreflect.ValueOfFloat64(f), true, nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		var i int64
		i, perr = strconv.ParseInt(s, 10, 32)
		v = protoreflect.ValueOfInt32(int32(i))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var i int64
		i, perr = strconv.ParseInt(s, 10, 64)
		v, bits = protoreflect.ValueOfInt64(i), "int64"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		var u uint64
		u, perr = strconv.ParseUint(s, 10, 32)
		v, bits = protoreflect.ValueOfUint32(uint32(u)), "uint32"
	default:
		var u uint64
		u, perr = strconv.ParseUint(s, 10, 64)
		v, bits = protoreflect.ValueOfUint64(u), "uint64"
	}
	if perr != nil {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		if isInteger(lit) {
			d.fail("expected an integer in " + bits + " range, got number " + s)
		} else {
			d.fail("expected an integer, got number " + s)
		}
		return v, false, nil
	}
	return v, true, nil
}

// special decodes the meta messages upstream writes as scalars into the empty message m.
func (d *decoder) special(m protoreflect.Message, mi *msgInfo) (bool, error) {
	switch mi.special {
	case specialTime, specialMicroTime:
		if d.peek() != '"' {
			return false, d.mismatch("an RFC 3339 time string")
		}
		s, err := d.readString()
		if err != nil {
			return false, err
		}
		t, perr := time.Parse(time.RFC3339, string(s))
		if perr != nil {
			d.fail("expected an RFC 3339 time, got string " + quoteShort(s))
			return false, nil
		}
		// Years outside 0-9999 cannot be written back in RFC 3339.
		if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
			d.fail("time " + quoteShort(s) + " is outside the years 0-9999")
			return false, nil
		}
		m.Set(mi.f1, protoreflect.ValueOfInt64(t.Unix()))
		// Precision as written upstream: seconds for Time, microseconds for MicroTime.
		if mi.special == specialMicroTime {
			m.Set(mi.f2, protoreflect.ValueOfInt32(int32(t.Nanosecond()/1000*1000)))
		}
		return true, nil
	case specialQuantity:
		var s string
		switch c := d.peek(); {
		case c == '"':
			b, err := d.readString()
			if err != nil {
				return false, err
			}
			s = strings.TrimSpace(string(b)) // as upstream's Quantity.UnmarshalJSON
		case c == '-' || isDigit(c):
			// YAML's `cpu: 1` or `memory: 1.5`: the literal is parsed exactly, never as a float.
			lit, err := d.readNumber()
			if err != nil {
				return false, err
			}
			s = string(lit)
		default:
			return false, d.mismatch("a quantity string or number")
		}
		q, err := metav1.ParseQuantity(s)
		if err != nil {
			d.fail(err.Error())
			return false, nil
		}
		m.Set(mi.f1, protoreflect.ValueOfString(q.String_))
		return true, nil
	case specialIntOrString:
		switch c := d.peek(); {
		case c == '"':
			s, err := d.readString()
			if err != nil {
				return false, err
			}
			m.Set(mi.f1, protoreflect.ValueOfInt32(metav1.IntOrStringString))
			m.Set(mi.f3, protoreflect.ValueOfString(string(s)))
			return true, nil
		case c == '-' || isDigit(c):
			v, ok, err := d.number(protoreflect.Int32Kind)
			if ok {
				m.Set(mi.f2, v)
			}
			return ok, err
		}
		return false, d.mismatch("an integer or a string")
	}
	return false, nil
}
