package resource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	u "kube5/kubectl/internal/unstructured"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args  []string
		want  string // resource:names;...
		multi bool
	}{
		{[]string{"po"}, "pods:", false},
		{[]string{"deploy,svc"}, "deployments:;services:", true},
		{[]string{"pods", "a", "b"}, "pods:a,b", false},
		{[]string{"pod/a", "svc/b", "pod/c"}, "pods:a,c;services:b", true},
		{[]string{"all"}, "pods:;replicationcontrollers:;services:;deployments:;replicasets:;jobs:", true},
		{[]string{"deployments.apps", "web"}, "deployments:web", false},
	}
	for _, c := range cases {
		refs, multi, err := ParseArgs(c.args)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		var parts []string
		for _, r := range refs {
			parts = append(parts, r.Res.Resource+":"+strings.Join(r.Names, ","))
		}
		if got := strings.Join(parts, ";"); got != c.want || multi != c.multi {
			t.Errorf("%v: %s multi=%v, want %s multi=%v", c.args, got, multi, c.want, c.multi)
		}
	}
	for _, bad := range [][]string{{"widgets"}, {"pods", "pod/a"}, {"pod/"}} {
		if _, _, err := ParseArgs(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestReadManifests(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "m.yaml")
	content := `# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
unknown: 1
--- # a separator with a comment
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Secret, metadata: {name: c}}
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, err := FileOptions{Filenames: []string{file}, Validate: true}.Read(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range docs {
		n := u.Name(d.Obj)
		if d.Err != nil {
			n += "(error)"
		}
		names = append(names, n)
	}
	if got := strings.Join(names, " "); got != "a b(error) c" {
		t.Errorf("documents: %s", got)
	}
	if !strings.Contains(docs[1].Err.Error(), `unknown field "unknown"`) {
		t.Errorf("error of b: %v", docs[1].Err)
	}
	docs, _ = FileOptions{Filenames: []string{file}, Validate: false}.Read(nil)
	if docs[1].Err != nil {
		t.Errorf("--validate=false still rejects b: %v", docs[1].Err)
	}
	docs, _ = FileOptions{Filenames: []string{"-"}}.Read(strings.NewReader(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"y"}}`))
	if len(docs) != 2 || u.Name(docs[1].Obj) != "y" {
		t.Errorf("JSON stream: %v", docs)
	}
}
