package builtin

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// FuzzDecodeValidate feeds arbitrary bytes through what a create does with a request
// body — strict decode, PrepareForCreate, Default, Validate — for the resources with the
// richest validation. Nothing may panic, and defaulting must be idempotent (the apiserver
// defaults again on every update).
func FuzzDecodeValidate(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}],"livenessProbe":{"httpGet":{"port":"http"}}}],"tolerations":[{"key":"k","operator":"Exists"}]}}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"type":"NodePort","ports":[{"port":80,"targetPort":"http"}],"selector":{"app":"x"}}}`))
	f.Add([]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1"}}}]}},"strategy":{"rollingUpdate":{"maxSurge":"50%"}}}}`))
	f.Add([]byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: i}]\n"))
	strategies := Strategies()
	kinds := []string{"/pods", "/services", "apps/deployments", "batch/jobs", "/nodes", "/replicationcontrollers"}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, key := range kinds {
			res := mustResource(key)
			obj := res.New()
			if _, _, err := codec.DecodeObject(data, obj); err != nil {
				continue
			}
			s := strategies[key]
			obj.GetMetadata() // may be nil: strategies must cope
			s.PrepareForCreate(obj)
			s.Default(obj)
			once := proto.Clone(obj)
			s.Default(obj)
			if !proto.Equal(once, obj) {
				t.Fatalf("%s: defaulting is not idempotent", key)
			}
			_ = s.Validate(obj)
			_ = s.ValidateUpdate(obj, once.(scheme.Object))
			_ = s.Fields(obj)
		}
	})
}

func mustResource(key string) *scheme.Resource {
	for _, r := range scheme.All() {
		if r.Group+"/"+r.Resource == key {
			return r
		}
	}
	panic("no resource " + key)
}
