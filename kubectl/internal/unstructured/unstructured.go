// Package unstructured holds API objects as upstream JSON maps. kubectl works on this
// form rather than on the proto types because most of what it does is generic over every
// kind — printing paths (jsonpath, custom-columns), merge patches, apply's three-way merge,
// label edits — and the JSON form is exactly what the user sees and writes. The proto
// codec (kube5/proto/codec) converts in both directions, so the strictness of decoding
// (unknown fields named by path) is kept.
package unstructured

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// Object is one API object in its upstream JSON form.
type Object = map[string]any

// FromProto encodes obj as upstream JSON and reads it back as a map.
func FromProto(obj scheme.Object) (Object, error) {
	b, err := codec.EncodeObject(obj)
	if err != nil {
		return nil, err
	}
	return FromJSON(b)
}

// FromJSON parses a JSON object, keeping numbers exact (json.Number), so int64 fields
// survive a round trip.
func FromJSON(b []byte) (Object, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m Object
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// ToProto decodes m into a new object of resource r, strictly (see codec.DecodeObject).
func ToProto(m Object, r *scheme.Resource) (scheme.Object, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	obj := r.New()
	if _, _, err := codec.DecodeObject(b, obj); err != nil {
		return obj, err
	}
	return obj, nil
}

// Nested walks m along path (map keys) and returns what is there.
func Nested(m any, path ...string) (any, bool) {
	cur := m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[p]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// String returns the string at path ("" when absent or not a string).
func String(m any, path ...string) string {
	v, _ := Nested(m, path...)
	s, _ := v.(string)
	return s
}

// Int returns the integer at path (0 when absent).
func Int(m any, path ...string) int64 {
	v, _ := Nested(m, path...)
	return ToInt(v)
}

// ToInt converts a JSON number in any of its decoded forms to int64.
func ToInt(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, _ := n.Float64()
			return int64(f)
		}
		return i
	case float64:
		return int64(n)
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	}
	return 0
}

// Bool returns the boolean at path.
func Bool(m any, path ...string) bool {
	v, _ := Nested(m, path...)
	b, _ := v.(bool)
	return b
}

// Map returns the object at path (nil when absent).
func Map(m any, path ...string) map[string]any {
	v, _ := Nested(m, path...)
	mm, _ := v.(map[string]any)
	return mm
}

// Slice returns the list at path.
func Slice(m any, path ...string) []any {
	v, _ := Nested(m, path...)
	s, _ := v.([]any)
	return s
}

// Maps returns the list at path, keeping only its objects.
func Maps(m any, path ...string) []map[string]any {
	var out []map[string]any
	for _, e := range Slice(m, path...) {
		if mm, ok := e.(map[string]any); ok {
			out = append(out, mm)
		}
	}
	return out
}

// StringMap returns a map[string]string at path (labels, annotations, selectors).
func StringMap(m any, path ...string) map[string]string {
	mm := Map(m, path...)
	if mm == nil {
		return nil
	}
	out := make(map[string]string, len(mm))
	for k, v := range mm {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Set stores v at path, creating intermediate objects.
func Set(m map[string]any, v any, path ...string) {
	cur := m
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = v
}

// Remove deletes the key at path, if present.
func Remove(m map[string]any, path ...string) {
	parent := Map(m, path[:len(path)-1]...)
	if len(path) == 1 {
		parent = m
	}
	if parent != nil {
		delete(parent, path[len(path)-1])
	}
}

// Time parses the RFC 3339 timestamp at path; zero when absent.
func Time(m any, path ...string) time.Time {
	s := String(m, path...)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Name, Namespace, Kind: the identity fields every object has.
func Name(m Object) string      { return String(m, "metadata", "name") }
func Namespace(m Object) string { return String(m, "metadata", "namespace") }
func Kind(m Object) string      { return String(m, "kind") }

// Scalar renders a JSON scalar as kubectl prints it in columns (numbers without
// exponents, booleans as true/false).
func Scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// DeepCopy copies a JSON value.
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = DeepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = DeepCopy(e)
		}
		return out
	default:
		return x
	}
}
