package labels

import (
	"strings"
	"testing"

	metav1 "kube5/proto/api/meta/v1"
)

func TestParseValid(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "",
		"x=a,y=b,z=c":               "x=a,y=b,z=c",
		"z=c, x=a":                  "x=a,z=c",
		"x!=a,y=b":                  "x!=a,y=b",
		"x=":                        "x=",
		"x= ,z= ":                   "x=,z=",
		"x==a":                      "x==a",
		"x in (b, a)":               "x in (a,b)",
		"x notin (a)":               "x notin (a)",
		"x in ()":                   "x in ()",
		"x in (a,)":                 "x in (,a)",
		"x":                         "x",
		"!x":                        "!x",
		"  x  ,  !y ":               "x,!y",
		"x>1,y<2":                   "x>1,y<2",
		"example.com/app=web":       "example.com/app=web",
		"in in (in),notin=notin":    "in in (in),notin=notin",
		"env in (prod,staging),web": "env in (prod,staging),web",
	} {
		s, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := s.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, got, want)
		}
		if again, err := Parse(s.String()); err != nil || again.String() != s.String() {
			t.Errorf("round trip of %q: %v %v", s.String(), again, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for in, want := range map[string]string{
		"x=a||y=b":                     "values[0]: Invalid value: \"a||y\"",
		"x==a==b":                      "found '==', expected: ',' or 'end of string'",
		"!x=a":                         "found '=', expected: ',' or 'end of string'",
		"x in (a b)":                   "found 'b', expected: ',' or ')'",
		"x>a":                          "the value must be an integer",
		"x in":                         "found '' expected: '('",
		",x":                           "found ',', expected: !, identifier, or 'end of string'",
		"x,":                           "found '', expected: identifier after ','",
		"x y":                          "found 'y', expected: in, notin, =, ==, !=, gt, lt",
		"a/b/c=d":                      "key: Invalid value: \"a/b/c\": a qualified name must consist of",
		"-x=1":                         "name part must consist of alphanumeric characters",
		"x=" + strings.Repeat("v", 64): "must be no more than 63 characters",
		"(":                            "found '(', expected: !, identifier",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", in, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", in, err, want)
		}
	}
}

func TestMatches(t *testing.T) {
	set := Set{"app": "web", "tier": "front", "n": "5"}
	for sel, want := range map[string]bool{
		"":                       true,
		"app=web":                true,
		"app==web,tier=front":    true,
		"app=db":                 false,
		"app!=db":                true,
		"missing!=x":             true,
		"app in (db,web)":        true,
		"app notin (db,web)":     false,
		"missing notin (x)":      true,
		"app":                    true,
		"missing":                false,
		"!missing":               true,
		"!app":                   false,
		"n>4":                    true,
		"n<5":                    false,
		"app>1":                  false,
		"missing=":               false,
		"app=web,tier in (back)": false,
	} {
		s, err := Parse(sel)
		if err != nil {
			t.Fatalf("Parse(%q): %v", sel, err)
		}
		if got := s.Matches(set); got != want {
			t.Errorf("%q matches %v = %v, want %v", sel, set, got, want)
		}
	}
	if Nothing().Matches(Set{}) || !Everything().Matches(Set{"a": "b"}) || !Everything().Empty() || Nothing().Empty() {
		t.Error("Everything/Nothing")
	}
	// A plain map is accepted where a Set is expected.
	m := map[string]string{"app": "web"}
	if !(Set{"app": "web"}).AsSelector().Matches(m) {
		t.Error("AsSelector")
	}
}

func TestRequiresExactMatch(t *testing.T) {
	s, _ := Parse("a=1,b in (2),c in (3,4),d!=5")
	for k, want := range map[string]string{"a": "1", "b": "2", "c": "", "d": "", "e": ""} {
		v, ok := s.RequiresExactMatch(k)
		if v != want || ok != (want != "") {
			t.Errorf("RequiresExactMatch(%q) = %q %v", k, v, ok)
		}
	}
}

func TestSelectorFromLabelSelector(t *testing.T) {
	s, err := SelectorFromLabelSelector(nil)
	if err != nil || s.Matches(Set{}) {
		t.Errorf("nil selector should select nothing: %v", err)
	}
	s, err = SelectorFromLabelSelector(&metav1.LabelSelector{})
	if err != nil || !s.Empty() {
		t.Errorf("empty selector should select everything: %v", err)
	}
	s, err = SelectorFromLabelSelector(&metav1.LabelSelector{
		MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []*metav1.LabelSelectorRequirement{
			{Key: "env", Operator: "In", Values: []string{"prod", "staging"}},
			{Key: "canary", Operator: "DoesNotExist"},
			{Key: "tier", Operator: "Exists"},
			{Key: "zone", Operator: "NotIn", Values: []string{"b"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "app=web,!canary,env in (prod,staging),tier,zone notin (b)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !s.Matches(Set{"app": "web", "env": "prod", "tier": "x"}) || s.Matches(Set{"app": "web", "env": "prod", "tier": "x", "canary": "1"}) {
		t.Error("matching")
	}
	if _, err := SelectorFromLabelSelector(&metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "Gt"}}}); err == nil || !strings.Contains(err.Error(), `"Gt" is not a valid label selector operator`) {
		t.Errorf("bad operator: %v", err)
	}
	if _, err := SelectorFromLabelSelector(&metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "a", Operator: "In"}}}); err == nil || !strings.Contains(err.Error(), "values set can't be empty") {
		t.Errorf("empty In: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, k := range []string{"a", "A.b-c_d", "example.com/name", strings.Repeat("a", 63)} {
		if errs := ValidateKey(k); errs != nil {
			t.Errorf("ValidateKey(%q) = %v", k, errs)
		}
	}
	for k, want := range map[string]string{
		"":                      "name part must be non-empty",
		"/a":                    "prefix part must be non-empty",
		"Example.com/a":         "prefix part a lowercase RFC 1123 subdomain must consist of",
		strings.Repeat("a", 64): "name part must be no more than 63 characters",
		"a_":                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
	} {
		errs := ValidateKey(k)
		if len(errs) == 0 || !strings.Contains(strings.Join(errs, "; "), want) {
			t.Errorf("ValidateKey(%q) = %v, want %q", k, errs, want)
		}
	}
	for _, v := range []string{"", "a", "a.b_c-d", strings.Repeat("a", 63)} {
		if errs := ValidateValue(v); errs != nil {
			t.Errorf("ValidateValue(%q) = %v", v, errs)
		}
	}
	if errs := ValidateValue("-a"); len(errs) != 1 || !strings.HasPrefix(errs[0], "a valid label must be an empty string") {
		t.Errorf("ValidateValue(-a) = %v", errs)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts prints back to an
// equivalent selector.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a=b", "a in (b,c),!d", "x notin (,),y", "a>1", "a==b,c!=d", "((", "!", "in in (in)"} {
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
