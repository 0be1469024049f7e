package fields

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"spec.nodeName=node-1":                  "spec.nodeName=node-1",
		"spec.nodeName==node-1":                 "spec.nodeName==node-1",
		"status.phase!=Running,metadata.name=a": "metadata.name=a,status.phase!=Running",
		"a=,":                                   "a=",
		`a=x\,y\=z\\`:                           `a=x\,y\=z\\`,
	} {
		s, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if s.String() != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, s.String(), want)
		}
	}
	s, err := Parse(`a=x\,y`)
	if err != nil || !s.Matches(Set{"a": "x,y"}) {
		t.Errorf("escaped comma: %v", err)
	}
	for in, want := range map[string]string{
		"a":      "invalid selector: 'a'; can't understand 'a'",
		"a=b,c":  "invalid selector: 'a=b,c'; can't understand 'c'",
		"a!=b=c": "invalid field selector: unescaped character in value: =",
		`a=b\x`:  `invalid field selector: invalid escape sequence: \x`,
		`a=b\`:   `invalid field selector: invalid escape sequence: \`,
	} {
		_, err := Parse(in)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestMatches(t *testing.T) {
	set := Set{"metadata.name": "web", "spec.nodeName": "n1"}
	for sel, want := range map[string]bool{
		"":                                   true,
		"metadata.name=web":                  true,
		"metadata.name=db":                   false,
		"metadata.name!=db,spec.nodeName=n1": true,
		"spec.nodeName=":                     false,
		"status.phase=":                      true,
		"status.phase!=Running":              true,
	} {
		s, err := Parse(sel)
		if err != nil {
			t.Fatal(err)
		}
		if s.Matches(set) != want {
			t.Errorf("%q matches = %v, want %v", sel, !want, want)
		}
	}
	if !Everything().Empty() || !Everything().Matches(Set{}) {
		t.Error("Everything")
	}
}

func TestRequiresExactMatch(t *testing.T) {
	s, _ := Parse("spec.nodeName=n1,status.phase!=Failed,metadata.name==x")
	for f, want := range map[string]string{"spec.nodeName": "n1", "metadata.name": "x", "status.phase": "", "other": ""} {
		v, ok := s.RequiresExactMatch(f)
		if v != want || ok != (want != "") {
			t.Errorf("RequiresExactMatch(%q) = %q %v", f, v, ok)
		}
	}
	if v, ok := OneTermEqualSelector("spec.nodeName", "").RequiresExactMatch("spec.nodeName"); !ok || v != "" {
		t.Error("an empty pinned value is still a match requirement")
	}
	sel := AndSelectors(OneTermEqualSelector("a", "1"), OneTermNotEqualSelector("b", "2"))
	if got := sel.String(); got != "a=1,b!=2" {
		t.Errorf("AndSelectors = %q", got)
	}
	if got := (Set{"b": "x,y", "a": "1"}).AsSelector().String(); got != `a=1,b=x\,y` {
		t.Errorf("AsSelector = %q", got)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, v := range []string{"", "plain", `a\b`, "a,b=c", `\\,,==`} {
		got, err := UnescapeValue(EscapeValue(v))
		if err != nil || got != v {
			t.Errorf("round trip %q = %q, %v", v, got, err)
		}
	}
	if !strings.Contains(EscapeValue("a,b"), `\,`) {
		t.Error("EscapeValue")
	}
}

// FuzzParse checks that Parse never panics and that what it accepts prints back to an
// equivalent selector.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a=b", "a!=b,c==d", `a=x\,y`, `\`, "=,=", "a==="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		again, err := Parse(s.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", in, s.String(), err)
		}
		if again.String() != s.String() {
			t.Fatalf("round trip %q -> %q -> %q", in, s.String(), again.String())
		}
	})
}
