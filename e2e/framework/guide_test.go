package framework

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoadGuide(t *testing.T) {
	md := "# Guide\n\n```sh\nkubectl not-marked\n```\n\n<!-- e2e: walk -->\n```sh\n# a comment\nkubectl get pods\nkubectl create deployment web \\\n  --image=x\n\ncurl $(kubectl get svc web -o jsonpath='{.spec.clusterIP}')\n```\n\n<!-- e2e: other -->\n```sh\nkubelet --kubeconfig ~/.kube/config\n```\n"
	path := filepath.Join(t.TempDir(), "GUIDE.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := LoadGuide(path, "walk")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kubectl get pods", "kubectl create deployment web --image=x", "curl $(kubectl get svc web -o jsonpath='{.spec.clusterIP}')"}
	if got := g.Commands(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Commands() = %q, want %q", got, want)
	}
	if g.Has("kubectl not-marked") {
		t.Error("a command outside the marked blocks counts")
	}
	if !g.Has("kubectl get pods") {
		t.Error("Has(kubectl get pods) = false")
	}
	if got := g.Uncovered("kubectl "); !reflect.DeepEqual(got, []string{"kubectl create deployment web --image=x"}) {
		t.Errorf("Uncovered = %q", got)
	}
	if _, err := LoadGuide(path, "missing"); err == nil {
		t.Error("LoadGuide of a marker that is not there: no error")
	}
}

func TestExpandAndFlagNames(t *testing.T) {
	c := &Cluster{}
	got, err := c.expand(`kubectl get svc web -o jsonpath='{.spec.clusterIP}' -l "a=b c"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kubectl", "get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}", "-l", "a=b c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expand = %q, want %q", got, want)
	}
	if _, err := c.expand(`kubectl get 'unterminated`); err == nil {
		t.Error("unterminated quote: no error")
	}
	if _, err := c.expand(`kubectl delete pod $(rm -rf /)`); err == nil {
		t.Error("a substitution that is not kubectl: no error")
	}
	name, flags := FlagNames("kubelet --kubeconfig ~/.kube/config --v=2")
	if name != "kubelet" || !reflect.DeepEqual(flags, []string{"kubeconfig", "v"}) {
		t.Errorf("FlagNames = %q %q", name, flags)
	}
}
