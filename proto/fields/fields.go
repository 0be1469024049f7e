// Package fields implements upstream's field selectors (k8s.io/apimachinery/pkg/fields):
// ?fieldSelector=spec.nodeName=node-1,status.phase!=Succeeded. Which fields a resource
// supports is the apiserver's business; this package only parses and matches.
package fields

import (
	"fmt"
	"sort"
	"strings"
)

// Set maps field paths to their values for one object, e.g.
// {"metadata.name": "web-1", "spec.nodeName": "node-1"}. A missing field reads as "".
type Set map[string]string

// String returns "k1=v1,k2=v2" sorted, as upstream (values are not escaped).
func (s Set) String() string {
	parts := make([]string, 0, len(s))
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Has reports whether the field is present.
func (s Set) Has(field string) bool {
	_, ok := s[field]
	return ok
}

// Get returns the field's value, "" when absent.
func (s Set) Get(field string) string { return s[field] }

// AsSelector returns a selector requiring every field=value of the set.
func (s Set) AsSelector() Selector { return SelectorFromSet(s) }

// SelectorFromSet is Set.AsSelector.
func SelectorFromSet(s Set) Selector {
	out := make(andTerm, 0, len(s))
	for k, v := range s {
		out = append(out, Requirement{Field: k, Operator: Equals, Value: v})
	}
	out.sort()
	return out
}

// Operator relates a field to a value.
type Operator string

// Field selectors support only equality, as upstream.
const (
	Equals       Operator = "="
	DoubleEquals Operator = "=="
	NotEquals    Operator = "!="
)

// Requirement is one term: Field Operator Value (Value unescaped).
type Requirement struct {
	Field    string
	Operator Operator
	Value    string
}

// Matches reports whether the set satisfies the term; an absent field reads as "".
func (r Requirement) Matches(s Set) bool {
	if r.Operator == NotEquals {
		return s[r.Field] != r.Value
	}
	return s[r.Field] == r.Value
}

// String renders the term with the value escaped so that Parse reads it back.
func (r Requirement) String() string {
	return r.Field + string(r.Operator) + EscapeValue(r.Value)
}

// Selector selects field sets. Selectors are immutable and safe for concurrent use.
type Selector interface {
	// Matches reports whether every term holds for the set.
	Matches(Set) bool
	// Empty reports whether the selector has no terms (selects everything).
	Empty() bool
	// RequiresExactMatch returns the value a matching set must hold for the field, if a
	// term pins it (field=v or field==v).
	RequiresExactMatch(field string) (value string, found bool)
	// Requirements returns the terms, for the apiserver to check them against the
	// resource's selectable fields.
	Requirements() []Requirement
	// String returns the selector in the syntax Parse accepts.
	String() string
}

// Everything returns the selector that matches every set.
func Everything() Selector { return andTerm{} }

// OneTermEqualSelector returns the selector field=value.
func OneTermEqualSelector(field, value string) Selector {
	return andTerm{{Field: field, Operator: Equals, Value: value}}
}

// OneTermNotEqualSelector returns the selector field!=value.
func OneTermNotEqualSelector(field, value string) Selector {
	return andTerm{{Field: field, Operator: NotEquals, Value: value}}
}

// AndSelectors returns the conjunction of the selectors.
func AndSelectors(selectors ...Selector) Selector {
	var out andTerm
	for _, s := range selectors {
		out = append(out, s.Requirements()...)
	}
	out.sort()
	return out
}

// andTerm is a conjunction of terms, kept sorted for a canonical String.
type andTerm []Requirement

func (t andTerm) sort() {
	sort.SliceStable(t, func(i, j int) bool { return t[i].String() < t[j].String() })
}

func (t andTerm) Matches(s Set) bool {
	for _, r := range t {
		if !r.Matches(s) {
			return false
		}
	}
	return true
}

func (t andTerm) Empty() bool { return len(t) == 0 }

func (t andTerm) RequiresExactMatch(field string) (string, bool) {
	for _, r := range t {
		if r.Field == field && r.Operator != NotEquals {
			return r.Value, true
		}
	}
	return "", false
}

func (t andTerm) Requirements() []Requirement { return append([]Requirement(nil), t...) }

func (t andTerm) String() string {
	parts := make([]string, len(t))
	for i, r := range t {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Parse parses a comma-separated list of field=value, field==value and field!=value
// terms, all of which must hold. In a value, '\', ',' and '=' are escaped with a
// backslash (EscapeValue). The empty string selects everything.
func Parse(selector string) (Selector, error) {
	var out andTerm
	for _, part := range splitTerms(selector) {
		if part == "" {
			continue
		}
		lhs, op, rhs, ok := splitTerm(part)
		if !ok {
			return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", selector, part)
		}
		value, err := UnescapeValue(rhs)
		if err != nil {
			return nil, err
		}
		out = append(out, Requirement{Field: lhs, Operator: op, Value: value})
	}
	out.sort()
	return out, nil
}

// splitTerms splits at commas not escaped by a backslash.
func splitTerms(s string) []string {
	if s == "" {
		return nil
	}
	var terms []string
	start := 0
	inSlash := false
	for i := 0; i < len(s); i++ {
		switch {
		case inSlash:
			inSlash = false
		case s[i] == '\\':
			inSlash = true
		case s[i] == ',':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	return append(terms, s[start:])
}

// splitTerm cuts at the first operator, trying "!=" and "==" before "=", as upstream.
func splitTerm(term string) (lhs string, op Operator, rhs string, ok bool) {
	for i := 0; i < len(term); i++ {
		rest := term[i:]
		for _, o := range []Operator{NotEquals, DoubleEquals, Equals} {
			if strings.HasPrefix(rest, string(o)) {
				return term[:i], o, term[i+len(o):], true
			}
		}
	}
	return "", "", "", false
}

// EscapeValue escapes '\', ',' and '=' so a value can stand in a selector string.
func EscapeValue(s string) string {
	if !strings.ContainsAny(s, `\,=`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', ',', '=':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// UnescapeValue reverses EscapeValue; an unknown escape or a bare ',' or '=' is an error,
// with upstream's messages.
func UnescapeValue(s string) (string, error) {
	if !strings.ContainsAny(s, `\,=`) {
		return s, nil
	}
	var b strings.Builder
	inSlash := false
	for _, c := range s {
		if inSlash {
			switch c {
			case '\\', ',', '=':
				b.WriteRune(c)
			default:
				return "", fmt.Errorf("invalid field selector: invalid escape sequence: %s", string([]rune{'\\', c}))
			}
			inSlash = false
			continue
		}
		switch c {
		case '\\':
			inSlash = true
		case ',', '=':
			return "", fmt.Errorf("invalid field selector: unescaped character in value: %v", string(c))
		default:
			b.WriteRune(c)
		}
	}
	if inSlash {
		return "", fmt.Errorf("invalid field selector: invalid escape sequence: \\")
	}
	return b.String(), nil
}
