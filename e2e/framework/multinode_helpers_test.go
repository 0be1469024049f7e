package framework

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestSplitWords(t *testing.T) {
	got, err := splitWords(`kubectl config set-cluster kube5 --server="http://10.99.1.1:8080" -o 'jsonpath={.a b}'`)
	want := []string{"kubectl", "config", "set-cluster", "kube5", "--server=http://10.99.1.1:8080", "-o", "jsonpath={.a b}"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("splitWords = %q, %v; want %q", got, err, want)
	}
	for _, line := range []string{
		"curl $(kubectl get svc web)", "for i in 1; do x; done", "a | b", "echo 'open",
	} {
		if w, err := splitWords(line); err == nil {
			t.Errorf("splitWords(%q) = %q, want an error (shell syntax is not run as a plain command)", line, w)
		}
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b`: "/tmp/a b",
		`/tmp/plain`:  "/tmp/plain",
		`/x\134y`:     `/x\y`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLANAddresses(t *testing.T) {
	l := &lan{prefix: netip.MustParsePrefix("10.99.7.0/24")}
	if got := l.hostIP().String(); got != "10.99.7.1" {
		t.Errorf("hostIP = %s", got)
	}
	if got := l.nodeIP(2).String(); got != "10.99.7.12" {
		t.Errorf("nodeIP(2) = %s", got)
	}
	used := []netip.Prefix{netip.MustParsePrefix("10.99.0.0/16")}
	if !overlapsAny(l.prefix, used) || overlapsAny(netip.MustParsePrefix("10.98.7.0/24"), used) {
		t.Error("overlapsAny is wrong")
	}
}

func TestStaleNamespaceNames(t *testing.T) {
	for name, want := range map[string][]string{
		"k5mn12-p345-hub": {"12", "345", "hub"},
		"k5mn12-p345-n1":  {"12", "345", "n1"},
		"k5mn12-hub":      nil,
		"k5t-pod-000001":  nil,
	} {
		m := staleNS.FindStringSubmatch(name)
		if want == nil && m != nil || want != nil && (m == nil || !reflect.DeepEqual(m[1:], want)) {
			t.Errorf("%s: match %q, want %q", name, m, want)
		}
	}
}
