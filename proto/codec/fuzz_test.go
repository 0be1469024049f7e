package codec

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/scheme"
)

// FuzzDecodeObject feeds arbitrary bytes to DecodeObject. It must never panic, and
// whatever decodes (fully, or but for unknown fields) must encode, and decode again to an
// equal message with identical bytes on the second encoding.
//
//	go test -run XXX -fuzz FuzzDecodeObject ./codec/
func FuzzDecodeObject(f *testing.F) {
	lease, _ := EncodeObject(testLease())
	pod, _ := EncodeObject(testPod())
	status, _ := MarshalJSON(&metav1.Status{Kind: "Status", ApiVersion: "v1", Status: "Failure", Code: 404,
		Details: &metav1.StatusDetails{Causes: []*metav1.StatusCause{{Field: "a"}}}})
	for _, seed := range [][]byte{
		lease, pod, status,
		[]byte(`{"spec":{"containers":[{"resources":{"limits":{"cpu":1.5e3,"memory":"1.5Gi"}},"readinessProbe":{"httpGet":{"port":"http"}}}]}}`),
		[]byte(`{"metadata":{"creationTimestamp":"2026-11-22T04:15:00Z","labels":{"a":null}},"spec":{"renewTime":"2026-11-22T04:15:00.123456Z"}}`),
		[]byte("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    resources:\n      requests:\n        cpu: 0.1\n"),
		[]byte(`{"data":{"k":"aGk="},"x":[1,{"y":null}],"metadata":{"name":"\ud83d\ude00\u00e9"}}`),
		[]byte(`{"spec":{"containers":[{"resources":{"limits":{"cpu":"1e2147483647","m":"9Ei","n":"0.9n","o":".","p":"+007"}}}]}}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&coordinationv1.Lease{}, &metav1.Status{}, &corev1.Pod{}} {
			_, _, err := DecodeObject(data, m)
			if err != nil && !OnlyUnknown(err) {
				continue
			}
			enc := func(m proto.Message) []byte {
				var b []byte
				var err error
				if obj, ok := m.(scheme.Object); ok {
					b, err = EncodeObject(obj)
				} else {
					b, err = MarshalJSON(m)
				}
				if err != nil {
					t.Fatalf("%T decoded from %q does not encode: %v", m, data, err)
				}
				return b
			}
			b1 := enc(m)
			back := m.ProtoReflect().New().Interface()
			if _, _, err := DecodeObject(b1, back); err != nil {
				t.Fatalf("%T: re-decoding %s: %v", m, b1, err)
			}
			if !proto.Equal(m, back) {
				t.Fatalf("%T: round trip differs\n%v\n%v\n%s", m, m, back, b1)
			}
			if b2 := enc(back); !bytes.Equal(b1, b2) {
				t.Fatalf("%T: unstable encoding\n%s\n%s", m, b1, b2)
			}
			if _, err := proto.Marshal(m); err != nil {
				t.Fatalf("%T: decoded message is not valid proto: %v", m, err)
			}
		}
		_, _, _ = PeekTypeMeta(data)
	})
}
