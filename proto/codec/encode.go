package codec

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The encoder appends to a byte slice and walks protoreflect with the cached tables:
// no map[string]any, no Go struct reflection, one allocation per sorted map.

// RFC3339Micro is upstream's MicroTime layout.
const RFC3339Micro = "2006-01-02T15:04:05.000000Z07:00"

// appendFields writes the populated fields of m, each preceded by a comma unless it is
// the first thing in the object (first). skipTypeMeta drops the message's own
// apiVersion/kind when the caller has written them already.
func appendFields(b []byte, m protoreflect.Message, mi *msgInfo, first, skipTypeMeta bool) ([]byte, error) {
	var err error
	for _, f := range mi.fields {
		if !m.Has(f.fd) && !f.always {
			continue
		}
		if skipTypeMeta && (f.name == "kind" || f.name == "apiVersion") {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		v := m.Get(f.fd)
		switch {
		case f.fd.IsList():
			b, err = appendList(b, v.List(), f)
		case f.fd.IsMap():
			b, err = appendMap(b, v.Map(), f)
		default:
			b, err = appendValue(b, v, f)
		}
		if err != nil {
			return b, prefixPath(err, f.name)
		}
	}
	return b, nil
}

// prefixPath puts seg in front of the path of an encoding error while it unwinds, so the
// error names the field as a decoding error would.
func prefixPath(err error, seg string) error {
	fe, ok := err.(*FieldError)
	if !ok {
		return err
	}
	switch {
	case fe.Path == "":
		fe.Path = seg
	case fe.Path[0] == '[':
		fe.Path = seg + fe.Path
	default:
		fe.Path = seg + "." + fe.Path
	}
	return fe
}

func valueError(format string, args ...any) error {
	return &FieldError{Msg: fmt.Sprintf(format, args...)}
}

func appendMessage(b []byte, m protoreflect.Message, mi *msgInfo) ([]byte, error) {
	if mi.special != plain {
		return appendSpecial(b, m, mi)
	}
	b = append(b, '{')
	b, err := appendFields(b, m, mi, true, false)
	return append(b, '}'), err
}

func appendList(b []byte, l protoreflect.List, f *fieldInfo) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, n := 0, l.Len(); i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendValue(b, l.Get(i), f); err != nil {
			return b, prefixPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return append(b, ']'), nil
}

type mapEntry struct {
	key string
	val protoreflect.Value
}

func appendMap(b []byte, mp protoreflect.Map, f *fieldInfo) ([]byte, error) {
	entries := make([]mapEntry, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		// Keys sort as strings, as encoding/json sorts them, whatever their type.
		entries = append(entries, mapEntry{key: k.String(), val: v})
		return true
	})
	slices.SortFunc(entries, func(x, y mapEntry) int { return strings.Compare(x.key, y.key) })
	b = append(b, '{')
	var err error
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.key)
		b = append(b, ':')
		if b, err = appendValue(b, e.val, f); err != nil {
			return b, prefixPath(err, "["+e.key+"]")
		}
	}
	return append(b, '}'), nil
}

// appendValue writes one singular value of f.elem's type.
func appendValue(b []byte, v protoreflect.Value, f *fieldInfo) ([]byte, error) {
	fd := f.elem
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message(), f.subInfo())
	case protoreflect.StringKind:
		return appendString(b, v.String()), nil
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloat(b, v.Float(), 32)
	case protoreflect.DoubleKind:
		return appendFloat(b, v.Float(), 64)
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendString(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	}
	return b, valueError("unsupported field kind %v", fd.Kind())
}

func appendSpecial(b []byte, m protoreflect.Message, mi *msgInfo) ([]byte, error) {
	switch mi.special {
	case specialTime, specialMicroTime:
		t := time.Unix(m.Get(mi.f1).Int(), m.Get(mi.f2).Int()).UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return b, valueError("time %d is outside the years 0-9999", m.Get(mi.f1).Int())
		}
		layout := time.RFC3339
		if mi.special == specialMicroTime {
			layout = RFC3339Micro
		}
		b = append(b, '"')
		b = t.AppendFormat(b, layout)
		return append(b, '"'), nil
	case specialQuantity:
		s := m.Get(mi.f1).String()
		if s == "" {
			s = "0" // an empty Quantity message is upstream's zero Quantity
		}
		return appendString(b, s), nil
	case specialIntOrString:
		if m.Get(mi.f1).Int() == 1 {
			return appendString(b, m.Get(mi.f3).String()), nil
		}
		return strconv.AppendInt(b, m.Get(mi.f2).Int(), 10), nil
	}
	return b, nil
}

// appendFloat formats like encoding/json: shortest representation, exponent form only
// for very small or large magnitudes.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, valueError("unsupported float value %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-09 -> e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string escaped as encoding/json does by default (which
// upstream uses): <, > and & as \u003c..., U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
