package validation

import (
	"bytes"
	"encoding/json"
	"reflect"

	"google.golang.org/protobuf/proto"

	"kube5/proto/codec"
)

// jsonValue prints an API message as the error's bad value. The field package prints a
// pointer's target with %#v, which for a generated message would show protobuf's
// internals; upstream printed its Go structs. The JSON the API speaks is the readable
// equivalent.
type jsonValue struct{ v any }

func (j jsonValue) String() string {
	var raw []byte
	switch v := j.v.(type) {
	case proto.Message:
		if v == nil || reflect.ValueOf(v).IsNil() {
			return "null"
		}
		b, err := codec.MarshalJSON(v)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		raw = b
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			b, _ := json.Marshal(v)
			return string(b)
		}
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(jsonValue{rv.Index(i).Interface()}.String())
		}
		buf.WriteByte(']')
		return buf.String()
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return string(raw)
	}
	return out.String()
}

// BadValue makes v printable in a field error: messages and lists of messages as JSON,
// anything else unchanged.
func BadValue(v any) any {
	if _, ok := v.(proto.Message); ok {
		return jsonValue{v}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Implements(reflect.TypeOf((*proto.Message)(nil)).Elem()) {
		return jsonValue{v}
	}
	return v
}
