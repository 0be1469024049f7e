// Package codec reads and writes API objects as upstream Kubernetes JSON (and YAML), by
// walking the proto descriptors. protojson is not used because it writes int64 as
// strings and knows nothing of upstream's scalar renderings.
//
// Encoding: fields under their JSON names (the .proto json_name, upstream's), unset fields
// omitted (proto3 zero scalars, empty lists and maps, nil messages), proto3 optional fields
// written whenever present, integers as numbers, bytes as base64, enums by name, map keys
// sorted. kube5.meta.v1.Time is an RFC 3339 UTC string with seconds, MicroTime the same
// with microseconds, Quantity its string and IntOrString a number or a string.
//
// Decoding: JSON or YAML, strict. Every unknown field and every value of the wrong type is
// reported with its path (FieldErrors); null means unset; for duplicate keys the last wins.
package codec

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"kube5/proto/scheme"
)

// EncodeObject writes a top-level object: "kind" and "apiVersion" of its resource first,
// then its fields in field-number order.
func EncodeObject(obj scheme.Object) ([]byte, error) { return AppendObject(nil, obj) }

// AppendObject is EncodeObject appending to b.
func AppendObject(b []byte, obj scheme.Object) ([]byte, error) {
	m := obj.ProtoReflect()
	r, ok := scheme.For(obj)
	if !ok {
		return b, fmt.Errorf("codec: %s is not the type of a registered resource", m.Descriptor().FullName())
	}
	b = append(b, `{"kind":`...)
	b = appendString(b, r.Kind)
	b = append(b, `,"apiVersion":`...)
	b = appendString(b, r.GroupVersion())
	b, err := appendFields(b, m, infoFor(m.Descriptor()), false, true)
	if err != nil {
		return b, fmt.Errorf("codec: encoding %s: %w", r.Kind, err)
	}
	return append(b, '}'), nil
}

// EncodeItem writes an object without kind and apiVersion, as upstream writes the items
// of a list. It is MarshalJSON under the name the list code reads best with.
func EncodeItem(obj proto.Message) ([]byte, error) { return AppendItem(nil, obj) }

// AppendItem is EncodeItem appending to b, for building a list in one buffer.
func AppendItem(b []byte, m proto.Message) ([]byte, error) {
	rm := m.ProtoReflect()
	if !rm.IsValid() {
		return append(b, "null"...), nil
	}
	b, err := appendMessage(b, rm, infoFor(rm.Descriptor()))
	if err != nil {
		return b, fmt.Errorf("codec: encoding %s: %w", rm.Descriptor().FullName(), err)
	}
	return b, nil
}

// MarshalJSON writes any message (Status, DeleteOptions, a spec ...) with the rules above;
// a message with its own apiVersion and kind fields gets them first, kind leading.
func MarshalJSON(m proto.Message) ([]byte, error) { return AppendItem(nil, m) }

// UnmarshalJSON resets m and decodes the JSON object data into it, strictly: errors are
// *SyntaxError or FieldErrors (see OnlyUnknown).
func UnmarshalJSON(data []byte, m proto.Message) error {
	proto.Reset(m)
	rm := m.ProtoReflect()
	d := decoder{data: data}
	return d.document(rm, infoFor(rm.Descriptor()), nil)
}

// DecodeObject resets into and decodes a top-level object, JSON or YAML (a document whose
// first non-space byte is '{' is JSON). apiVersion and kind are returned, not stored,
// unless into has such fields itself (Status); the caller checks them against into's
// resource. Errors are *SyntaxError or FieldErrors: every unknown field by its full path
// (`unknown field "spec.containers[0].imagee"`), every ill-typed value
// (`spec.replicas: expected an integer, got string "3"`).
func DecodeObject(data []byte, into proto.Message) (apiVersion, kind string, err error) {
	data, err = toJSON(data)
	if err != nil {
		return "", "", err
	}
	proto.Reset(into)
	m := into.ProtoReflect()
	mi := infoFor(m.Descriptor())
	var tm typeMeta
	d := decoder{data: data}
	err = d.document(m, mi, &tm)
	if mi.hasTypeMeta {
		tm.apiVersion = m.Get(mi.byName["apiVersion"].fd).String()
		tm.kind = m.Get(mi.byName["kind"].fd).String()
	}
	return tm.apiVersion, tm.kind, err
}

// PeekTypeMeta returns apiVersion and kind of a JSON or YAML object without decoding the
// rest, to choose the type to decode it into.
func PeekTypeMeta(data []byte) (apiVersion, kind string, err error) {
	data, err = toJSON(data)
	if err != nil {
		return "", "", err
	}
	d := decoder{data: data}
	var tm typeMeta
	d.ws()
	if d.peek() != '{' {
		if d.pos >= len(d.data) {
			return "", "", d.syntax("empty document")
		}
		if err := d.mismatch("an object"); err != nil {
			return "", "", err
		}
		return "", "", d.errs
	}
	if err := d.open(); err != nil {
		return "", "", err
	}
	for n := 0; ; {
		key, more, err := d.nextMember(&n)
		if err != nil {
			return "", "", err
		}
		if !more {
			break
		}
		if k := string(key); k == "apiVersion" || k == "kind" {
			err = d.typeMetaValue(k, &tm)
		} else {
			err = d.skipValue()
		}
		if err != nil {
			return "", "", err
		}
	}
	if len(d.errs) > 0 {
		return tm.apiVersion, tm.kind, d.errs
	}
	return tm.apiVersion, tm.kind, nil
}

// Decode decodes an object of any registered resource, found by its apiVersion and kind.
func Decode(data []byte) (scheme.Object, *scheme.Resource, error) {
	apiVersion, kind, err := PeekTypeMeta(data)
	if err != nil {
		return nil, nil, err
	}
	if kind == "" {
		return nil, nil, &FieldError{Path: "kind", Msg: "Object 'Kind' is missing"}
	}
	r, ok := scheme.ByKind(apiVersion, kind)
	if !ok {
		return nil, nil, &FieldError{Path: "kind", Msg: fmt.Sprintf("no kind %q is registered for version %q", kind, apiVersion)}
	}
	obj := r.New()
	if _, _, err := DecodeObject(data, obj); err != nil {
		return obj, r, err
	}
	return obj, r, nil
}

// toJSON converts YAML to JSON unless data already is JSON.
func toJSON(data []byte) ([]byte, error) {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	if i < len(data) && data[i] == '{' {
		return data, nil
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, &SyntaxError{Offset: -1, Msg: err.Error()}
	}
	return j, nil
}

// ToYAML converts JSON (as the encoders write it) to YAML, for kubectl -o yaml.
func ToYAML(jsonBytes []byte) ([]byte, error) { return yaml.JSONToYAML(jsonBytes) }

// AppendList writes upstream's list envelope around items that EncodeItem/AppendItem
// encoded: {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"12"},"items":[...]}.
func AppendList(b []byte, r *scheme.Resource, resourceVersion, continueToken string, items [][]byte) []byte {
	b = appendListHead(b, r, resourceVersion, continueToken)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, "]}"...)
}

func appendListHead(b []byte, r *scheme.Resource, resourceVersion, continueToken string) []byte {
	b = append(b, `{"kind":`...)
	b = appendString(b, r.Kind+"List")
	b = append(b, `,"apiVersion":`...)
	b = appendString(b, r.GroupVersion())
	b = append(b, `,"metadata":{`...)
	if resourceVersion != "" {
		b = append(b, `"resourceVersion":`...)
		b = appendString(b, resourceVersion)
	}
	if continueToken != "" {
		if resourceVersion != "" {
			b = append(b, ',')
		}
		b = append(b, `"continue":`...)
		b = appendString(b, continueToken)
	}
	return append(b, `},"items":[`...)
}

// listChunk is how much EncodeList gathers before each Write: few syscalls for 30000
// items, bounded memory.
const listChunk = 64 << 10

// EncodeList streams the list envelope and items to w, for large lists.
func EncodeList(w io.Writer, r *scheme.Resource, resourceVersion, continueToken string, items [][]byte) error {
	buf := make([]byte, 0, listChunk)
	buf = appendListHead(buf, r, resourceVersion, continueToken)
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		if len(buf)+len(it) > listChunk && len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if len(it) >= listChunk {
			if _, err := w.Write(it); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, it...)
	}
	buf = append(buf, "]}"...)
	_, err := w.Write(buf)
	return err
}
