package jsonpath

import (
	"testing"

	u "kube5/kubectl/internal/unstructured"
)

func TestExecute(t *testing.T) {
	obj, err := u.FromJSON([]byte(`{"kind":"List","items":[
		{"metadata":{"name":"a","labels":{"app.kubernetes.io/name":"x"}},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"},{"type":"Scheduled","status":"True"}]},"spec":{"replicas":3,"containers":[{"image":"i1"},{"image":"i2"}]}},
		{"metadata":{"name":"b"},"status":{"phase":"Pending","conditions":[{"type":"Ready","status":"False"}]},"spec":{"replicas":1,"containers":[{"image":"i3"}]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		`{.kind}`:                              "List",
		`{.items[0].metadata.name}`:            "a",
		`{.items[*].metadata.name}`:            "a b",
		`{.items[-1].metadata.name}`:           "b",
		`{.items[0].spec.containers[*].image}`: "i1 i2",
		`{.items[0:1].metadata.name}`:          "a",
		`{..image}`:                            "i1 i2 i3",
		`{.items[0].metadata.labels['app.kubernetes.io/name']}`:             "x",
		`{.items[?(@.status.phase=="Pending")].metadata.name}`:              "b",
		`{.items[?(@.spec.replicas>2)].metadata.name}`:                      "a",
		`{.items[0].status.conditions[?(@.type=="Ready")].status}`:          "True",
		`{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}`: "a\tRunning\nb\tPending\n",
		`name={.items[0].metadata.name}`:                                    "name=a",
		`.items[1].spec.replicas`:                                           "1",
		`{range .items[*]}[{range .spec.containers[*]}{.image},{end}]{end}`: "[i1,i2,][i3,]",
		`{.items[0].missing}`:                                               "",
	}
	for tmpl, want := range cases {
		p, err := Parse(tmpl)
		if err != nil {
			t.Errorf("Parse(%q): %v", tmpl, err)
			continue
		}
		got, err := p.Execute(obj)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", tmpl, got, err, want)
		}
	}
	for _, bad := range []string{`{.items[`, `{range .items[*]}{.a}`, `{end}`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
