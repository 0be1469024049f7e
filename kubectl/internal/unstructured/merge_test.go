package unstructured

import (
	"encoding/json"
	"testing"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	if s == "" {
		return nil
	}
	m, err := FromJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestMergePatch(t *testing.T) {
	cases := []struct{ target, patch, want string }{
		{`{"a":1,"b":{"c":2,"d":3}}`, `{"b":{"c":null,"e":4}}`, `{"a":1,"b":{"d":3,"e":4}}`},
		{`{"l":[1,2]}`, `{"l":[3]}`, `{"l":[3]}`},
		{`{"a":1}`, `{"a":null}`, `{}`},
	}
	for _, c := range cases {
		if got := js(MergePatch(obj(t, c.target), obj(t, c.patch))); got != c.want {
			t.Errorf("MergePatch(%s, %s) = %s, want %s", c.target, c.patch, got, c.want)
		}
	}
}

func TestThreeWayMergePatch(t *testing.T) {
	cases := []struct{ name, original, modified, current, want string }{
		{"unchanged", `{"a":1}`, `{"a":1}`, `{"a":1,"status":{}}`, `{}`},
		{"field removed from manifest", `{"m":{"l":{"x":"1","y":"2"}}}`, `{"m":{"l":{"x":"1"}}}`, `{"m":{"l":{"x":"1","y":"2","z":"3"}}}`, `{"m":{"l":{"y":null}}}`},
		{"drift on a scalar the manifest sets", `{"r":2}`, `{"r":2}`, `{"r":5}`, `{"r":2}`},
		{"list unchanged in manifest, defaulted live", `{"c":[{"n":"a"}]}`, `{"c":[{"n":"a"}]}`, `{"c":[{"n":"a","pull":"Always"}]}`, `{}`},
		{"list changed", `{"c":[{"n":"a"}]}`, `{"c":[{"n":"b"}]}`, `{"c":[{"n":"a","pull":"Always"}]}`, `{"c":[{"n":"b"}]}`},
		{"no last-applied", ``, `{"a":1}`, `{"a":2,"b":3}`, `{"a":1}`},
		{"numbers by value", `{"a":1}`, `{"a":1}`, `{"a":1.0}`, `{}`},
		// Keyed lists, merged by key as upstream's strategic merge patch does.
		{"containers unchanged, defaulted live", `{"containers":[{"name":"a","image":"x:1"}]}`, `{"containers":[{"name":"a","image":"x:1"}]}`,
			`{"containers":[{"name":"a","image":"x:1","imagePullPolicy":"IfNotPresent"}]}`, `{}`},
		{"image changed: defaults kept", `{"containers":[{"name":"a","image":"x:1"}]}`, `{"containers":[{"name":"a","image":"x:2"}]}`,
			`{"containers":[{"name":"a","image":"x:1","imagePullPolicy":"IfNotPresent"}]}`, `{"containers":[{"image":"x:2","imagePullPolicy":"IfNotPresent","name":"a"}]}`},
		{"set image reverted by apply", `{"containers":[{"name":"a","image":"x:1"}]}`, `{"containers":[{"name":"a","image":"x:1"}]}`,
			`{"containers":[{"name":"a","image":"x:9"}]}`, `{"containers":[{"image":"x:1","name":"a"}]}`},
		{"container removed from the manifest goes, one added by others stays", `{"containers":[{"name":"a"},{"name":"b"}]}`, `{"containers":[{"name":"a"}]}`,
			`{"containers":[{"name":"a"},{"name":"b"},{"name":"sidecar"}]}`, `{"containers":[{"name":"a"},{"name":"sidecar"}]}`},
		{"env entry removed by name", `{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}`, `{"env":[{"name":"B","value":"2"}]}`,
			`{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}`, `{"env":[{"name":"B","value":"2"}]}`},
		{"duplicate keys: replaced whole", `{"ports":[{"containerPort":53,"protocol":"TCP"},{"containerPort":53,"protocol":"UDP"}]}`,
			`{"ports":[{"containerPort":53,"protocol":"UDP"}]}`, `{"ports":[{"containerPort":53,"protocol":"TCP"},{"containerPort":53,"protocol":"UDP"}]}`,
			`{"ports":[{"containerPort":53,"protocol":"UDP"}]}`},
		{"service ports by port, nodePort kept", `{"ports":[{"port":80}]}`, `{"ports":[{"port":80,"name":"http"}]}`,
			`{"ports":[{"port":80,"nodePort":30080,"protocol":"TCP"}]}`, `{"ports":[{"name":"http","nodePort":30080,"port":80,"protocol":"TCP"}]}`},
	}
	for _, c := range cases {
		got := js(ThreeWayMergePatch(obj(t, c.original), obj(t, c.modified), obj(t, c.current)))
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}
